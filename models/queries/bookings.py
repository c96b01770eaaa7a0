"""The bookings list."""

from dataclasses import dataclass, field
from enum import StrEnum

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.access import Permission, Scope, Viewer
from models.bookings import Booking, Guest
from models.dates import DateRange
from models.enums import BookingStatus
from models.errors import InvalidArgument
from models.pagination import SortKey, SortValueKind
from models.queries.visibility import visible_bookings

MAX_SEARCH_LENGTH = 200


class BookingSort(StrEnum):
    CREATED_AT = "CREATED_AT"
    TRIP_START = "TRIP_START"
    REFERENCE = "REFERENCE"


BOOKING_SORT_KEYS = {
    BookingSort.CREATED_AT: SortKey("created_at", SortValueKind.DATETIME, lambda b: b.created_at),
    BookingSort.TRIP_START: SortKey(
        "departure__starts_at", SortValueKind.DATETIME, lambda b: b.departure.starts_at
    ),
    BookingSort.REFERENCE: SortKey("reference", SortValueKind.TEXT, lambda b: b.reference),
}


@dataclass(frozen=True, slots=True)
class BookingFilter:
    trip_date: DateRange = field(default_factory=DateRange)
    booking_date: DateRange = field(default_factory=DateRange)
    statuses: tuple[BookingStatus, ...] = ()
    search: str = ""
    include_partners: bool = False
    departure_id: int | None = None
    activity_id: int | None = None

    def check(self) -> None:
        self.trip_date.check("tripDate")
        self.booking_date.check("bookingDate")
        check_search(self.search)


def check_search(search: str) -> None:
    if len(search) > MAX_SEARCH_LENGTH:
        raise InvalidArgument(
            f"`search` has {len(search)} characters; use at most {MAX_SEARCH_LENGTH}."
        )
    # PostgreSQL rejects NUL in text parameters.
    if "\x00" in search:
        raise InvalidArgument("`search` contains a NUL character (\\x00); remove it.")


def filter_bookings(
    queryset: QuerySet[Booking], viewer: Viewer, booking_filter: BookingFilter
) -> QuerySet[Booking]:
    """Apply the filters every bookings and guests list shares."""
    booking_filter.check()

    trip = booking_filter.trip_date
    if trip.start:
        queryset = queryset.filter(departure__starts_on__gte=trip.start)
    if trip.end:
        queryset = queryset.filter(departure__starts_on__lte=trip.end)

    created_from, created_until = booking_filter.booking_date.instants(viewer.time_zone)
    if created_from:
        queryset = queryset.filter(created_at__gte=created_from)
    if created_until:
        queryset = queryset.filter(created_at__lt=created_until)

    if booking_filter.statuses:
        queryset = queryset.filter(status__in=list(booking_filter.statuses))
    if booking_filter.departure_id is not None:
        queryset = queryset.filter(departure_id=booking_filter.departure_id)
    if booking_filter.activity_id is not None:
        queryset = queryset.filter(departure__activity_id=booking_filter.activity_id)

    search = booking_filter.search.strip()
    if search:
        queryset = queryset.filter(_booking_search(viewer, search))
    return queryset


def _buyer_search_scope(viewer: Viewer) -> Q | None:
    """Select the bookings whose buyer the viewer may read, and so may find by buyer."""
    scope = viewer.scope(Permission.READ_CUSTOMERS)
    # Only the seller's staff may match buyers: matching a partner's buyer would reveal that
    # this person booked through the partner, and a guide's match would reveal who paid.
    if scope is Scope.ALL:
        return Q(seller_id=viewer.organization_id)
    if scope is Scope.OWN:
        return Q(seller_id=viewer.organization_id, created_by_id=viewer.user_id)
    return None


def _booking_search(viewer: Viewer, search: str) -> Q:
    matches = Q(reference__iexact=search)
    buyer_scope = _buyer_search_scope(viewer)
    if buyer_scope is not None:
        matches |= buyer_scope & (
            Q(buyer__email__icontains=search)
            | Q(buyer__first_name__icontains=search)
            | Q(buyer__last_name__icontains=search)
        )
    guest_matches = Q(
        id__in=Subquery(
            Guest.filter(
                Q(first_name__icontains=search)
                | Q(last_name__icontains=search)
                | Q(email__icontains=search)
            ).values("booking_id")
        )
    )
    return matches | guest_matches


def bookings_query(viewer: Viewer, booking_filter: BookingFilter) -> QuerySet[Booking]:
    queryset = visible_bookings(viewer, include_partners=booking_filter.include_partners)
    return filter_bookings(queryset, viewer, booking_filter)
