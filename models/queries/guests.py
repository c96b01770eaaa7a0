"""The guests list: everyone booked on a trip, with the booking filters applied to their booking.

A page is read as plain rows, as the bookings page is (models/queries/booking_page.py): each guest
with its booking, the booking's buyer, departure and activity, in one statement.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models.access import Viewer
from models.bookings import Guest
from models.enums import GuestCategory
from models.pagination import Page, PageRequest, SortKey, SortValueKind, paginate_rows
from models.queries.booking_page import GUEST_COLUMNS, PAGE_COLUMNS, GuestRow, booking_row
from models.queries.bookings import BookingFilter, booking_conditions, in_trip_start_order
from models.queries.tally import sets_only, tally_query
from models.queries.tuples import fetch_chosen
from models.queries.visibility import visible_booking_condition


class GuestSort(StrEnum):
    TRIP_START = "TRIP_START"
    LAST_NAME = "LAST_NAME"
    BOOKING_DATE = "BOOKING_DATE"


GUEST_SORT_KEYS = {
    GuestSort.TRIP_START: SortKey(
        "booking__departure__starts_at",
        SortValueKind.DATETIME,
        lambda g: g.booking.departure.starts_at,
    ),
    GuestSort.LAST_NAME: SortKey("last_name", SortValueKind.TEXT, lambda g: g.last_name),
    GuestSort.BOOKING_DATE: SortKey(
        "booking__created_at", SortValueKind.DATETIME, lambda g: g.booking.created_at
    ),
}


@dataclass(frozen=True, slots=True)
class GuestFilter:
    """The booking filters, matched against each guest's booking, and the guest's own fields.

    `booking.search` matches the guest's names and email and the booking reference.
    """

    booking: BookingFilter = field(default_factory=BookingFilter)
    categories: tuple[GuestCategory, ...] = ()
    checked_in: bool | None = None


GUEST_PAGE_COLUMNS = (*GUEST_COLUMNS, *(f"booking__{column}" for column in PAGE_COLUMNS))
_BOOKING = len(GUEST_COLUMNS)

# The tallies count guests per booking filter alone, not per category or check-in.
GUEST_TALLY_FIELDS = frozenset({"booking"})


def guests_query(viewer: Viewer, guest_filter: GuestFilter) -> QuerySet[Guest]:
    search = guest_filter.booking.search.strip()
    guest_filter.booking.check()
    # The search runs on the guest's own fields below, not on the booking's buyer.
    booking_filter = replace(guest_filter.booking, search="")

    queryset = Guest.filter(
        visible_booking_condition(
            viewer, include_partners=booking_filter.include_partners, path="booking__"
        ),
        *booking_conditions(viewer, booking_filter, path="booking__"),
        # Every booking id is positive, so this matches every guest. Tortoise joins the booking
        # with a LEFT OUTER JOIN, which fixes the join order, and SQLite 3.40 makes it an inner
        # join only for a plain comparison on the booking, which the partners' OR is not.
        booking__id__gt=0,
    )

    if guest_filter.categories:
        queryset = queryset.filter(category__in=list(guest_filter.categories))
    if guest_filter.checked_in is not None:
        queryset = queryset.filter(checked_in_at__isnull=not guest_filter.checked_in)
    if search:
        queryset = queryset.filter(
            Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(email__icontains=search)
            | Q(booking__reference__iexact=search)
        )
    return queryset


async def count_guests(viewer: Viewer, guest_filter: GuestFilter) -> int:
    """Count the guests `guests_query` selects, adding up a tally where one can tell."""
    if sets_only(guest_filter, GUEST_TALLY_FIELDS):
        tally = tally_query(viewer, guest_filter.booking)
        if tally is not None:
            return await tally.sum("guests")
    return await guests_query(viewer, guest_filter).count()


def _guest_row(values: Sequence[Any]) -> GuestRow:
    row = GuestRow(*values[:_BOOKING])
    row.booking = booking_row(values[_BOOKING:])
    return row


async def _fetch_page(page: QuerySet[Guest], ordering: Sequence[str]) -> list[GuestRow]:
    # The page is chosen by its own query, which reads only ids and sort values, and joined
    # afterwards. Joined first, the database would read the booking and departure rows of every
    # guest it sorts: a week's 28,000 guests on a million, where the page needs 100.
    return [_guest_row(values) for values in await fetch_chosen(page, GUEST_PAGE_COLUMNS, ordering)]


async def list_guests(
    viewer: Viewer,
    guest_filter: GuestFilter,
    sort: GuestSort,
    descending: bool,
    page: PageRequest,
) -> Page[GuestRow]:
    sort_key = GUEST_SORT_KEYS[sort]
    if descending:
        sort_key = sort_key.reversed()
    queryset = guests_query(viewer, guest_filter)
    ordered = queryset
    if sort is GuestSort.TRIP_START:
        ordered = in_trip_start_order(queryset, guest_filter.booking.trip_date, path="booking__")
    return await paginate_rows(
        ordered,
        sort_key,
        page,
        _fetch_page,
        count=lambda: count_guests(viewer, guest_filter),
    )
