"""The bookings list."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.access import Permission, Scope, Viewer
from models.bookings import Booking, Guest
from models.dates import DateRange
from models.enums import BookingStatus
from models.errors import InvalidArgument
from models.pagination import ModelT, SortKey, SortValueKind
from models.queries.visibility import condition_at, visible_bookings

MAX_SEARCH_LENGTH = 200
# The UTC offsets in use run from -12:00 to +14:00 (IANA time zone database), so a local
# calendar day starts at most 14 hours before the same day in UTC and ends at most 12 hours after.
MAX_UTC_OFFSET = timedelta(hours=14)
MIN_UTC_OFFSET = timedelta(hours=-12)
EARLIEST_INSTANT = datetime(1, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


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
    return queryset.filter(*booking_conditions(viewer, booking_filter))


def booking_conditions(viewer: Viewer, booking_filter: BookingFilter, path: str = "") -> list[Q]:
    """Build the conditions of `booking_filter`, at `path` (such as "booking__") from the model."""
    booking_filter.check()
    conditions = trip_conditions(
        booking_filter,
        starts_on=f"{path}departure__starts_on",
        status=f"{path}status",
        activity_id=f"{path}departure__activity_id",
    )

    created_from, created_until = booking_filter.booking_date.instants(viewer.time_zone)
    if created_from:
        conditions.append(condition_at(path, created_at__gte=created_from))
    if created_until:
        conditions.append(condition_at(path, created_at__lt=created_until))

    if booking_filter.departure_id is not None:
        conditions.append(condition_at(path, departure_id=booking_filter.departure_id))

    search = booking_filter.search.strip()
    if search:
        conditions.append(_booking_search(viewer, search, path))
    return conditions


# The fields of BookingFilter that `trip_conditions` and `sold_condition` (visibility.py) apply.
# A filter that sets no other field selects whole rows of the tallies (tally.py).
TRIP_FILTER_FIELDS = frozenset({"trip_date", "statuses", "activity_id", "include_partners"})


def trip_conditions(
    booking_filter: BookingFilter, *, starts_on: str, status: str, activity_id: str
) -> list[Q]:
    """Build the conditions on trip date, status and activity, given the paths of those columns.

    The bookings and guests lists filter their rows with them, and their counts filter the rows
    of the tallies, which hold the same columns.
    """
    lookups: list[dict[str, Any]] = []
    trip = booking_filter.trip_date
    if trip.start:
        lookups.append({f"{starts_on}__gte": trip.start})
    if trip.end:
        lookups.append({f"{starts_on}__lte": trip.end})
    if booking_filter.statuses:
        lookups.append({f"{status}__in": list(booking_filter.statuses)})
    if booking_filter.activity_id is not None:
        lookups.append({activity_id: booking_filter.activity_id})
    return [Q(**lookup) for lookup in lookups]


def trip_start_bounds(trip_date: DateRange) -> tuple[datetime, datetime]:
    """Return instants between which every departure on the trip dates starts, in any time zone.

    The trip-date filter compares local start dates. These bounds state the same condition, a
    little wider, on the start instant, so that a list sorted by trip start can walk the index
    on the departures' start in order and stop after one page, rather than sort every match. They
    also reject rows without a departure, which lets the database turn the outer joins that
    Tortoise writes into inner joins that it may run in any order.
    """
    lower = upper = None
    if trip_date.start:
        lower = _utc_midnight(trip_date.start, 0, -MAX_UTC_OFFSET)
    if trip_date.end:
        upper = _utc_midnight(trip_date.end, 1, -MIN_UTC_OFFSET)
    return lower or EARLIEST_INSTANT, upper or LATEST_INSTANT


def _utc_midnight(day: date, days_later: int, shift: timedelta) -> datetime | None:
    """Return midnight UTC `days_later` days after `day`, moved by `shift`, or None if too far."""
    try:
        return datetime.combine(day, time.min, tzinfo=UTC) + timedelta(days=days_later) + shift
    except OverflowError:
        return None


def in_trip_start_order(
    queryset: QuerySet[ModelT], trip_date: DateRange, path: str
) -> QuerySet[ModelT]:
    """Keep the rows whose departure at `path` starts within `trip_start_bounds`."""
    lower, upper = trip_start_bounds(trip_date)
    return queryset.filter(
        **{f"{path}departure__starts_at__gte": lower, f"{path}departure__starts_at__lte": upper}
    )


def _buyer_search_scope(viewer: Viewer, path: str) -> Q | None:
    """Select the bookings whose buyer the viewer may read, and so may find by buyer."""
    scope = viewer.scope(Permission.READ_CUSTOMERS)
    # Only the seller's staff may match buyers: matching a partner's buyer would reveal that
    # this person booked through the partner, and a guide's match would reveal who paid.
    if scope is Scope.ALL:
        return condition_at(path, seller_id=viewer.organization_id)
    if scope is Scope.OWN:
        return condition_at(path, seller_id=viewer.organization_id, created_by_id=viewer.user_id)
    return None


def _booking_search(viewer: Viewer, search: str, path: str) -> Q:
    matches = condition_at(path, reference__iexact=search)
    buyer_scope = _buyer_search_scope(viewer, path)
    if buyer_scope is not None:
        matches |= buyer_scope & (
            condition_at(path, buyer__email__icontains=search)
            | condition_at(path, buyer__first_name__icontains=search)
            | condition_at(path, buyer__last_name__icontains=search)
        )
    guest_matches = condition_at(
        path,
        id__in=Subquery(
            Guest.filter(
                Q(first_name__icontains=search)
                | Q(last_name__icontains=search)
                | Q(email__icontains=search)
            ).values("booking_id")
        ),
    )
    return matches | guest_matches


def bookings_query(viewer: Viewer, booking_filter: BookingFilter) -> QuerySet[Booking]:
    queryset = visible_bookings(viewer, include_partners=booking_filter.include_partners)
    return filter_bookings(queryset, viewer, booking_filter)
