"""Guests and the custom-field answers of guests and bookings."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from models import bookings, catalog
from models.enums import GuestCategory
from models.queries.booking_page import BookingRow, GuestRow
from schema.context import Info
from schema.departures.types import CustomFieldDefinition
from schema.relay import Node, to_global_id

if TYPE_CHECKING:
    from schema.bookings.types import Booking


@strawberry.type(description="An answer to a custom question.")
class CustomFieldAnswer:
    value: str = strawberry.field(
        description="The answer as text: numbers as decimals, dates as ISO 8601, true/false."
    )
    question: strawberry.Private[catalog.CustomField]

    @strawberry.field(description="The question answered.")
    def field(self) -> CustomFieldDefinition:
        return CustomFieldDefinition.from_row(self.question)

    @strawberry.field(description="Key of the question answered, the same as `field.key`.")
    def key(self) -> str:
        return self.question.key

    @classmethod
    def from_row(cls, row: bookings.CustomFieldAnswer) -> "CustomFieldAnswer":
        """Build an answer from a row read with its question (`select_related("custom_field")`)."""
        return cls(value=row.value, question=row.custom_field)


@strawberry.type(description="A person booked on a trip; not necessarily the buyer.")
class Guest(Node):
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    email: str = strawberry.field(description="Email address, possibly empty.")
    phone: str = strawberry.field(description="Phone number as entered, possibly empty.")
    category: GuestCategory = strawberry.field(description="Fare category.")
    checked_in_at: datetime | None = strawberry.field(
        description="When the guest was checked in for the trip; null if not yet."
    )
    pk: strawberry.Private[int]
    booking_pk: strawberry.Private[int]
    booking_row: strawberry.Private[bookings.Booking | BookingRow | None]
    # An attribute rather than a resolver: long lists of guests resolve it cheaper that way.
    checked_in: bool = strawberry.field(description="True once the guest is checked in.")

    @classmethod
    def from_row(cls, row: bookings.Guest) -> "Guest":
        booking = row.booking if isinstance(row.booking, bookings.Booking) else None
        return cls._build(row, booking)

    @classmethod
    def from_page_row(cls, row: GuestRow) -> "Guest":
        return cls._build(row, row.booking)

    @classmethod
    def of_booking(
        cls, row: bookings.Guest | GuestRow, booking: bookings.Booking | BookingRow
    ) -> "Guest":
        """Build a guest listed under `booking`, which is then the guest's own booking."""
        return cls._build(row, booking)

    @classmethod
    def _build(
        cls, row: bookings.Guest | GuestRow, booking: bookings.Booking | BookingRow | None
    ) -> "Guest":
        return cls(
            id=to_global_id("Guest", row.id),
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            phone=row.phone,
            category=row.category,
            checked_in_at=row.checked_in_at,
            pk=row.id,
            booking_pk=row.booking_id,
            booking_row=booking,
            checked_in=row.checked_in_at is not None,
        )

    @strawberry.field(description="Answers to the organization's per-guest questions.")
    async def answers(self, info: Info) -> list[CustomFieldAnswer]:
        rows = await info.context.loaders.answers_by_guest_id.load(self.pk)
        return [CustomFieldAnswer.from_row(row) for row in rows]

    @strawberry.field(description="The booking this guest is on.")
    async def booking(
        self, info: Info
    ) -> Annotated["Booking", strawberry.lazy("schema.bookings.types")]:
        from schema.bookings.types import Booking
        from schema.bookings.visibility import load_booking

        row = self.booking_row or await load_booking(info, self.booking_pk)
        return Booking.from_row(row)
