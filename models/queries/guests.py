"""The guests list: everyone booked on a trip, with the booking filters applied to their booking."""

from dataclasses import dataclass, field, replace
from enum import StrEnum

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.access import Viewer
from models.bookings import Guest
from models.enums import GuestCategory
from models.pagination import Page, PageRequest, SortKey, SortValueKind, paginate
from models.queries.bookings import BookingFilter, filter_bookings
from models.queries.visibility import visible_bookings


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


def guests_query(viewer: Viewer, guest_filter: GuestFilter) -> QuerySet[Guest]:
    search = guest_filter.booking.search.strip()
    guest_filter.booking.check()
    # The search runs on the guest's own fields below, not on the booking's buyer.
    booking_filter = replace(guest_filter.booking, search="")

    bookings = filter_bookings(
        visible_bookings(viewer, include_partners=booking_filter.include_partners),
        viewer,
        booking_filter,
    )
    queryset = Guest.filter(booking_id__in=Subquery(bookings.values("id")))

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


async def list_guests(
    viewer: Viewer,
    guest_filter: GuestFilter,
    sort: GuestSort,
    descending: bool,
    page: PageRequest,
) -> Page[Guest]:
    sort_key = GUEST_SORT_KEYS[sort]
    if descending:
        sort_key = sort_key.reversed()
    queryset = guests_query(viewer, guest_filter).select_related("booking__departure")
    return await paginate(queryset, sort_key, page)
