"""The `guests` list."""

from enum import Enum
from typing import Annotated

import strawberry

from models.enums import BookingStatus, GuestCategory
from models.queries.bookings import BookingFilter
from models.queries.guests import GuestFilter, GuestSort, list_guests
from schema.common import DateRangeInput, SortDirection, date_range
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
    pk_of,
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
class GuestFilterInput:
    trip_date: DateRangeInput | None = strawberry.field(
        default=None, description="Departure start dates, in the supplier's time zone."
    )
    booking_date: DateRangeInput | None = strawberry.field(
        default=None, description="Dates the guests' bookings were made, in your time zone."
    )
    status: list[BookingStatus] | None = strawberry.field(
        default=None, description="Any of these booking statuses."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Part of the guest's name or email, or a whole booking reference.",
    )
    include_partners: bool = strawberry.field(
        default=False,
        description="Also list guests of bookings that ACTIVE partners sold on your activities.",
    )
    category: list[GuestCategory] | None = strawberry.field(
        default=None, description="Any of these guest categories."
    )
    checked_in: bool | None = strawberry.field(
        default=None, description="Only guests checked in (true) or not yet (false)."
    )
    departure: strawberry.ID | None = strawberry.field(
        default=None, description="Only guests on this departure."
    )
    activity: strawberry.ID | None = strawberry.field(
        default=None, description="Only guests on departures of this activity."
    )


def guest_filter(value: GuestFilterInput | None) -> GuestFilter:
    if value is None:
        return GuestFilter()
    booking = BookingFilter(
        trip_date=date_range(value.trip_date),
        booking_date=date_range(value.booking_date),
        statuses=tuple(value.status or ()),
        search=value.search or "",
        include_partners=value.include_partners,
        departure_id=pk_of(value.departure, "Departure", "filter.departure")
        if value.departure is not None
        else None,
        activity_id=pk_of(value.activity, "Activity", "filter.activity")
        if value.activity is not None
        else None,
    )
    return GuestFilter(
        booking=booking, categories=tuple(value.category or ()), checked_in=value.checked_in
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
        return build_connection(page, Guest.from_row)
