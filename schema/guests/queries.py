"""The `guests` list."""

from enum import Enum
from typing import Annotated

import strawberry

from models.enums import GuestCategory
from models.queries.guests import GuestFilter, GuestSort, list_guests
from schema.bookings.queries import BookingFilterInput, booking_filter
from schema.common import DateRangeInput, SortDirection
from schema.context import Info, viewer_of
from schema.guests.types import Guest
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    build_connection,
    page_request,
)


@strawberry.enum(description="What to sort guests by.")
class GuestOrderField(Enum):
    TRIP_START = GuestSort.TRIP_START.value
    LAST_NAME = GuestSort.LAST_NAME.value
    BOOKING_DATE = GuestSort.BOOKING_DATE.value


@strawberry.input(description="Sort order of a guests list; ties are broken by ID.")
class GuestOrder:
    field: GuestOrderField = strawberry.field(
        default=GuestOrderField.TRIP_START, description="Column to sort by."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="Ascending or descending."
    )


@strawberry.input(description="Filters of a guests list; all given filters must match.")
class GuestFilterInput(BookingFilterInput):
    """The bookings filter, applied to each guest's booking, and the guest's own fields."""

    booking_date: DateRangeInput | None = strawberry.field(
        default=None, description="Dates the guests' bookings were made, in your time zone."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Part of the guest's name or email, or a whole booking reference.",
    )
    include_partners: bool = strawberry.field(
        default=False,
        description="Also list guests of bookings that ACTIVE partners sold on your activities.",
    )
    departure: strawberry.ID | None = strawberry.field(
        default=None, description="Only guests on this departure."
    )
    activity: strawberry.ID | None = strawberry.field(
        default=None, description="Only guests on departures of this activity."
    )
    category: list[GuestCategory] | None = strawberry.field(
        default=None, description="Any of these guest categories."
    )
    checked_in: bool | None = strawberry.field(
        default=None, description="Only guests checked in (true) or not yet (false)."
    )


def guest_filter(value: GuestFilterInput | None) -> GuestFilter:
    if value is None:
        return GuestFilter()
    return GuestFilter(
        booking=booking_filter(value),
        categories=tuple(value.category or ()),
        checked_in=value.checked_in,
    )


@strawberry.type
class GuestQueries:
    @strawberry.field(
        description=(
            "Everyone booked on your trips, past or upcoming, with their answers. Sorted by "
            "trip start unless `orderBy` says otherwise."
        )
    )
    async def guests(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
        filter: Annotated[
            GuestFilterInput | None, strawberry.argument(description="Filters to apply.")
        ] = None,
        order_by: Annotated[
            GuestOrder | None, strawberry.argument(description="Sort order.")
        ] = None,
    ) -> Connection[Guest]:
        order = order_by or GuestOrder()
        page = await list_guests(
            viewer_of(info),
            guest_filter(filter),
            GuestSort(order.field.value),
            order.direction is SortDirection.DESC,
            page_request(first, after, last, before),
        )
        return build_connection(page, Guest.from_page_row)
