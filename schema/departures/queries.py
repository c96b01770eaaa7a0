"""The `departures` and `activities` lists."""

from typing import Annotated

import strawberry

from models.access import Permission
from models.catalog import Activity as ActivityRow
from models.catalog import CustomField
from models.queries.departures import DepartureFilter, list_departures
from models.queries.visibility import require
from schema.common import DateRangeInput, date_range
from schema.context import Info, viewer_of
from schema.departures.types import Activity, CustomFieldDefinition, Departure
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    build_connection,
    page_request,
    pk_of,
)


@strawberry.input(description="Filters of a departures list.")
class DepartureFilterInput:
    trip_date: DateRangeInput | None = strawberry.field(
        default=None, description="Start dates, in the supplier's time zone."
    )
    activity: strawberry.ID | None = strawberry.field(
        default=None, description="Only departures of this activity."
    )
    include_suppliers: bool = strawberry.field(
        default=False,
        description="Also list departures of ACTIVE suppliers whose activities you may sell.",
    )


@strawberry.type
class DepartureQueries:
    @strawberry.field(description="Departures of your activities, earliest first.")
    async def departures(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
        filter: Annotated[
            DepartureFilterInput | None, strawberry.argument(description="Filters to apply.")
        ] = None,
    ) -> Connection[Departure]:
        value = filter or DepartureFilterInput()
        departure_filter = DepartureFilter(
            trip_date=date_range(value.trip_date),
            activity_id=pk_of(value.activity, "Activity", "filter.activity")
            if value.activity is not None
            else None,
            include_suppliers=value.include_suppliers,
        )
        page = await list_departures(
            viewer_of(info), departure_filter, page_request(first, after, last, before)
        )
        return build_connection(page, Departure.from_row)

    @strawberry.field(description="Your organization's activities, by name.")
    async def activities(self, info: Info) -> list[Activity]:
        viewer = viewer_of(info)
        require(viewer, Permission.READ_CATALOG)
        rows = await ActivityRow.filter(organization_id=viewer.organization_id).order_by(
            "name", "id"
        )
        return [Activity.from_row(row) for row in rows]

    @strawberry.field(description="Your organization's custom questions, in display order.")
    async def custom_fields(self, info: Info) -> list[CustomFieldDefinition]:
        viewer = viewer_of(info)
        require(viewer, Permission.READ_CATALOG)
        rows = await CustomField.filter(organization_id=viewer.organization_id).order_by(
            "scope", "position", "id"
        )
        return [CustomFieldDefinition.from_row(row) for row in rows]
