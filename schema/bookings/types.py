"""Bookings and their buyers."""

from datetime import datetime

import strawberry

from models import bookings
from models.enums import BookingChannel, BookingStatus
from models.errors import Forbidden
from models.queries.booking_page import BookingRow, BuyerRow
from models.queries.visibility import may_see_buyer
from schema.common import Money, Organization
from schema.context import Info, viewer_of
from schema.departures.types import Departure
from schema.fallback import awaited_by_executor
from schema.guests.types import CustomFieldAnswer, Guest
from schema.relay import Node, to_global_id


@strawberry.type(description="The person who paid for a booking and received the receipt.")
class Buyer:
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    email: str = strawberry.field(description="Email address as entered.")
    phone: str = strawberry.field(description="Phone number as entered, possibly empty.")
    country: str = strawberry.field(description="ISO 3166 alpha-2 country code, possibly empty.")
    language: str = strawberry.field(description="Preferred language tag, possibly empty.")
    marketing_consent: bool = strawberry.field(
        description="True when the buyer agreed to receive marketing email."
    )

    @classmethod
    def from_row(cls, row: bookings.Buyer | BuyerRow) -> "Buyer":
        return cls(
            first_name=row.first_name,
            last_name=row.last_name,
            email=row.email,
            phone=row.phone,
            country=row.country,
            language=row.language,
            marketing_consent=row.marketing_consent,
        )


@strawberry.type(description="A reservation of seats on one departure.")
class Booking(Node):
    reference: str = strawberry.field(description="Reference quoted to the buyer.")
    status: BookingStatus = strawberry.field(description="Where the booking stands.")
    channel: BookingChannel = strawberry.field(description="How the booking was made.")
    created_at: datetime = strawberry.field(description="When the booking was made.")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled, if so.")
    # A row of a bookings page carries its buyer, departure and guests; a model row does not,
    # and its nested fields go through the DataLoaders.
    row: strawberry.Private[bookings.Booking | BookingRow]

    @classmethod
    def from_row(cls, row: bookings.Booking | BookingRow) -> "Booking":
        return cls(
            id=to_global_id("Booking", row.id),
            reference=row.reference,
            status=row.status,
            channel=row.channel,
            created_at=row.created_at,
            cancelled_at=row.cancelled_at,
            row=row,
        )

    @strawberry.field(description="The departure booked.")
    def departure(self, info: Info) -> Departure:
        if isinstance(self.row, BookingRow):
            return Departure.from_row(self.row.departure)
        return awaited_by_executor(self._load_departure(info))

    async def _load_departure(self, info: Info) -> Departure:
        row = await info.context.loaders.departure_by_id.load(self.row.departure_id)
        assert row is not None, "booking.departure_id is a foreign key"
        return Departure.from_row(row)

    @strawberry.field(description="The organization that sold the booking.")
    async def seller(self, info: Info) -> Organization:
        row = await info.context.loaders.organization_by_id.load(self.row.seller_id)
        assert row is not None, "booking.seller_id is a foreign key"
        return Organization.from_row(row)

    @strawberry.field(
        description=(
            "The buyer. Null when another organization (a partner) sold the booking: buyers "
            "belong to the seller. A FORBIDDEN error when your roles do not grant reading "
            "customers of this booking."
        )
    )
    def buyer(self, info: Info) -> Buyer | None:
        if not self._buyer_visible(info):
            return None
        if isinstance(self.row, BookingRow):
            return Buyer.from_row(self.row.buyer) if self.row.buyer else None
        return awaited_by_executor(self._load_buyer(info))

    async def _load_buyer(self, info: Info) -> Buyer | None:
        row = await info.context.loaders.buyer_by_booking_id.load(self.row.id)
        return Buyer.from_row(row) if row else None

    @strawberry.field(
        description="The total price. Null and hidden under the same rules as `buyer`."
    )
    def total(self, info: Info) -> Money | None:
        if not self._buyer_visible(info):
            return None
        return Money(amount=self.row.total_amount, currency=self.row.currency)

    @strawberry.field(description="The guests, in the order they were entered.")
    def guests(self, info: Info) -> list[Guest]:
        # Each guest carries this booking, so that `guests { booking { ... } }` reads no row.
        if isinstance(self.row, BookingRow) and self.row.guests is not None:
            return [Guest.of_booking(row, self.row) for row in self.row.guests]
        return awaited_by_executor(self._load_guests(info))

    async def _load_guests(self, info: Info) -> list[Guest]:
        rows = await info.context.loaders.guests_by_booking_id.load(self.row.id)
        return [Guest.of_booking(row, self.row) for row in rows]

    @strawberry.field(description="Answers to the organization's per-booking questions.")
    async def answers(self, info: Info) -> list[CustomFieldAnswer]:
        rows = await info.context.loaders.booking_answers_by_booking_id.load(self.row.id)
        return [CustomFieldAnswer.from_row(row) for row in rows]

    def _buyer_visible(self, info: Info) -> bool:
        viewer = viewer_of(info)
        if self.row.seller_id != viewer.organization_id:
            return False
        if not may_see_buyer(viewer, self.row):
            raise Forbidden(
                "Your roles do not grant reading this booking's buyer and amounts; "
                "leave out `buyer` and `total`, or ask an administrator for a role that does."
            )
        return True
