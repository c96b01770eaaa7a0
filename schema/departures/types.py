"""Activities, their custom questions and their departures."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from models import catalog
from models.enums import CustomFieldScope, CustomFieldType
from models.queries.booking_page import ActivityRow, DepartureRow
from schema.context import Info
from schema.fallback import awaited_by_executor
from schema.relay import Node, to_global_id

if TYPE_CHECKING:
    from schema.guests.types import Guest

strawberry.enum(CustomFieldScope, description="Whether a question is asked per booking or guest.")
strawberry.enum(CustomFieldType, description="The kind of answer a custom field takes.")


@strawberry.type(description="A question an organization asks for each booking or each guest.")
class CustomFieldDefinition(Node):
    key: str = strawberry.field(description="Stable key used in inputs and CSV exports.")
    label: str = strawberry.field(description="The question as shown to staff and customers.")
    scope: CustomFieldScope = strawberry.field(description="Asked per booking or per guest.")
    type: CustomFieldType = strawberry.field(description="The kind of answer.")
    required: bool = strawberry.field(description="True when a booking needs an answer.")
    options: list[str] = strawberry.field(description="Allowed answers of a SELECT field.")
    personal_data: bool = strawberry.field(
        description="True when answers describe a person (weight, allergies) and need care."
    )

    @classmethod
    def from_row(cls, row: catalog.CustomField) -> "CustomFieldDefinition":
        return cls(
            id=to_global_id("CustomField", row.id),
            key=row.key,
            label=row.label,
            scope=row.scope,
            type=row.type,
            required=row.required,
            options=list(row.options or []),
            personal_data=row.personal_data,
        )


@strawberry.type(description="A product (tour) that a supplier organization runs.")
class Activity(Node):
    name: str = strawberry.field(description="Name of the activity.")
    description: str = strawberry.field(description="Longer description, possibly empty.")
    organization_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: catalog.Activity | ActivityRow) -> "Activity":
        return cls(
            id=to_global_id("Activity", row.id),
            name=row.name,
            description=row.description,
            organization_pk=row.organization_id,
        )

    @strawberry.field(
        description=(
            "The questions asked when booking this activity: its organization's custom "
            "fields. A partner reads here what a supplier's bookings must answer."
        )
    )
    async def custom_fields(self, info: Info) -> list[CustomFieldDefinition]:
        loader = info.context.loaders.custom_fields_by_organization_id
        return [
            CustomFieldDefinition.from_row(row) for row in await loader.load(self.organization_pk)
        ]


@strawberry.type(description="A staff member assigned to guide a departure.")
class Guide:
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")


@strawberry.type(description="One dated run of an activity, with its manifest of guests.")
class Departure(Node):
    starts_at: datetime = strawberry.field(description="Start, with offset.")
    ends_at: datetime = strawberry.field(description="End, with offset.")
    trip_date: date = strawberry.field(
        description="Start date in the supplier's time zone: what `tripDate` filters match."
    )
    capacity: int = strawberry.field(description="Seats on this departure.")
    pk: strawberry.Private[int]
    activity_pk: strawberry.Private[int]
    # Read along with the departure by a bookings page; otherwise the DataLoader reads it.
    activity_row: strawberry.Private[ActivityRow | None] = None

    @classmethod
    def from_row(cls, row: catalog.Departure | DepartureRow) -> "Departure":
        return cls(
            id=to_global_id("Departure", row.id),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            trip_date=row.starts_on,
            capacity=row.capacity,
            pk=row.id,
            activity_pk=row.activity_id,
            activity_row=row.activity if isinstance(row, DepartureRow) else None,
        )

    @strawberry.field(description="The activity this departure runs.")
    def activity(self, info: Info) -> Activity:
        if self.activity_row is not None:
            return Activity.from_row(self.activity_row)
        return awaited_by_executor(self._load_activity(info))

    async def _load_activity(self, info: Info) -> Activity:
        row = await info.context.loaders.activity_by_id.load(self.activity_pk)
        assert row is not None, "departure.activity_id is a foreign key"
        return Activity.from_row(row)

    @strawberry.field(description="Guests on bookings that are not cancelled, from any seller.")
    async def seats_taken(self, info: Info) -> int:
        return await info.context.loaders.seats_taken_by_departure_id.load(self.pk)

    @strawberry.field(description="Seats still free: capacity minus seats taken.")
    async def seats_left(self, info: Info) -> int:
        taken = await info.context.loaders.seats_taken_by_departure_id.load(self.pk)
        return max(self.capacity - taken, 0)

    @strawberry.field(description="Staff assigned to guide this departure.")
    async def guides(self, info: Info) -> list[Guide]:
        users = await info.context.loaders.guides_by_departure_id.load(self.pk)
        return [Guide(first_name=u.first_name, last_name=u.last_name) for u in users]

    @strawberry.field(
        description=(
            "The manifest: guests of this departure's bookings that you may read, including "
            "those sold by ACTIVE partners, by last name."
        )
    )
    async def guests(
        self, info: Info
    ) -> list[Annotated["Guest", strawberry.lazy("schema.guests.types")]]:
        from schema.guests.types import Guest

        loader = info.context.loaders.guests_by_departure_id
        if loader is None:
            info.context.require_viewer()
            return []
        return [Guest.from_row(row) for row in await loader.load(self.pk)]
