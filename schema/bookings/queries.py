"""The `bookings` list."""

from enum import Enum
from typing import Annotated

import strawberry

from models.enums import BookingStatus
from models.queries.booking_page import list_booking_page
from models.queries.bookings import BookingFilter, BookingSort
from schema.bookings.types import Booking
from schema.common import DateRangeInput, SortDirection, date_range
from schema.context import Info, viewer_of
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    build_connection,
    page_request,
    pk_of,
    selects_node_field,
)


@strawberry.enum(description="What to sort bookings by.")
class BookingOrderField(Enum):
    CREATED_AT = BookingSort.CREATED_AT.value
    TRIP_START = BookingSort.TRIP_START.value
    REFERENCE = BookingSort.REFERENCE.value


@strawberry.input(description="Sort order of a bookings list; ties are broken by ID.")
class BookingOrder:
    field: BookingOrderField = strawberry.field(
        default=BookingOrderField.CREATED_AT, description="Column to sort by."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="Ascending or descending."
    )


@strawberry.input(description="Filters of a bookings list; all given filters must match.")
class BookingFilterInput:
    trip_date: DateRangeInput | None = strawberry.field(
        default=None, description="Departure start dates, in the supplier's time zone."
    )
    booking_date: DateRangeInput | None = strawberry.field(
        default=None, description="Dates the bookings were made, in your time zone."
    )
    status: list[BookingStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    search: str | None = strawberry.field(
        default=None,
        description=(
            "Part of a buyer's or guest's name or email, or a whole booking reference; "
            "case-insensitive."
        ),
    )
    include_partners: bool = strawberry.field(
        default=False,
        description=(
            "Also list bookings that ACTIVE partners sold on your activities. Their buyers "
            "and totals stay hidden."
        ),
    )
    departure: strawberry.ID | None = strawberry.field(
        default=None, description="Only bookings on this departure."
    )
    activity: strawberry.ID | None = strawberry.field(
        default=None, description="Only bookings on departures of this activity."
    )


def booking_filter(value: BookingFilterInput | None) -> BookingFilter:
    if value is None:
        return BookingFilter()
    return BookingFilter(
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


@strawberry.type
class BookingQueries:
    @strawberry.field(
        description="Bookings your organization sold, and with `includePartners` its partners'."
    )
    async def bookings(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
        filter: Annotated[
            BookingFilterInput | None, strawberry.argument(description="Filters to apply.")
        ] = None,
        order_by: Annotated[
            BookingOrder | None, strawberry.argument(description="Sort order; newest first.")
        ] = None,
    ) -> Connection[Booking]:
        order = order_by or BookingOrder()
        page = await list_booking_page(
            viewer_of(info),
            booking_filter(filter),
            BookingSort(order.field.value),
            order.direction is SortDirection.DESC,
            page_request(first, after, last, before),
            with_guests=selects_node_field(info, "guests"),
        )
        return build_connection(page, Booking.from_row)
