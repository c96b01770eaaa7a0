"""The guests list: everyone booked on a trip, with the booking filters applied to their booking.

A page is read as plain rows, as the bookings page is (models/queries/booking_page.py): each guest
with its booking, the booking's buyer, departure and activity, in one statement.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal

from pypika_tortoise.context import SqlContext
from pypika_tortoise.terms import Term, ValueWrapper
from tortoise.expressions import Q
from tortoise.queryset import QuerySet, ValuesListQuery, ValuesQuery

from models.access import Viewer
from models.bookings import Guest
from models.dates import DateRange
from models.enums import GuestCategory
from models.pagination import Fetch, Page, PageRequest, SortKey, SortValueKind, paginate_rows
from models.queries.booking_page import GUEST_COLUMNS, PAGE_COLUMNS, GuestRow, booking_row
from models.queries.bookings import BookingFilter, booking_conditions, in_trip_start_order
from models.queries.tally import sets_only, tally_query
from models.queries.tuples import fetch_by_shape, fetch_chosen
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

# A guests page in booking-date order whose trip dates span at most this many days is chosen
# per trip date and merged (`_TripDatePages`). Each day adds a branch to the statement, which
# reads up to a page of guests from the index on the booking's trip date and booking date, and
# which PostgreSQL plans on every run. On a million guests a 31-day page took 24 to 27 ms on
# either backend, where one plain statement took 156 to 192 ms on SQLite and 17 to 515 ms on
# PostgreSQL. 62 days took 42 to 49 ms, more than the plain statement on PostgreSQL for recent
# trip dates (15 ms). A longer range gets the plain statement (bench/RESULTS.md).
MAX_MERGED_TRIP_DATES = 31


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


def merged_trip_dates(guest_filter: GuestFilter, sort: GuestSort) -> list[date]:
    """Return the trip dates whose pages `list_guests` merges, or none for one plain statement.

    A page in booking-date order of a few trip dates reads, for each date, the bookings from the
    index on (trip_starts_on, created_at, id) in booking-date order and stops after a page of
    guests. Chosen in one statement, it would read and sort every guest of the range.
    """
    trip_date = guest_filter.booking.trip_date
    if sort is not GuestSort.BOOKING_DATE or trip_date.start is None or trip_date.end is None:
        return []
    days = (trip_date.end - trip_date.start).days + 1
    if not 0 < days <= MAX_MERGED_TRIP_DATES:
        return []
    return [trip_date.start + timedelta(days=day) for day in range(days)]


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
    fetch: Fetch[Guest, GuestRow] = _fetch_page
    if sort is GuestSort.TRIP_START:
        ordered = in_trip_start_order(queryset, guest_filter.booking.trip_date, path="booking__")

    trip_dates = merged_trip_dates(guest_filter, sort)
    if trip_dates:
        # Each branch matches its one trip date on the booking's copy, so the range itself is
        # left out; the count keeps the whole filter.
        all_dates = replace(guest_filter.booking, trip_date=DateRange())
        ordered = guests_query(viewer, replace(guest_filter, booking=all_dates))
        fetch = _page_per_trip_date(trip_dates)

    return await paginate_rows(
        ordered,
        sort_key,
        page,
        fetch,
        count=lambda: count_guests(viewer, guest_filter),
    )


def _page_per_trip_date(trip_dates: list[date]) -> Fetch[Guest, GuestRow]:
    async def fetch(page: QuerySet[Guest], ordering: Sequence[str]) -> list[GuestRow]:
        # One branch, with a marker for its trip date, gives the shape of the statement and the
        # parameters of each day's branch. Building the text of every branch on each run took
        # about 3 of the 11 ms of CPU time of a 31-day page on SQLite.
        branch = _branch(page, _TripDate(_EACH_TRIP_DATE))
        branch_sql, branch_parameters = branch.query.get_parameterized_sql()
        parameters = [
            day if value is _EACH_TRIP_DATE else value
            for day in trip_dates
            for value in branch_parameters
        ]
        parameters.append(page._limit)
        shape = ("guests per trip date", branch_sql, len(trip_dates), *ordering)

        def build() -> ValuesListQuery[Any]:
            joined = Guest.filter(id__in=_TripDatePages(page, trip_dates, ordering))
            return joined.order_by(*ordering).values_list(*GUEST_PAGE_COLUMNS)

        return [
            _guest_row(values) for values in await fetch_by_shape(page, shape, build, parameters)
        ]

    return fetch


# The trip date of the pattern branch that `_page_per_trip_date` builds. Its parameters contain
# this object where each day's branch has its date.
_EACH_TRIP_DATE = object()


def _branch(page: QuerySet[Guest], trip_date: "_TripDate") -> ValuesQuery[Literal[False]]:
    """Return the part of `page` on one trip date, with the columns that merging orders by."""
    branch = page.filter(booking__trip_starts_on=trip_date).values("id", "booking__created_at")
    branch._choose_db_if_not_chosen()
    branch._make_query()
    return branch


class _TripDate(Term):
    """A trip date parameter whose value is set before each rendering of the statement."""

    def __init__(self, day: date | object) -> None:
        super().__init__()
        self.day = day

    def get_sql(self, ctx: SqlContext) -> str:
        return str(ValueWrapper(self.day).get_sql(ctx))


class _TripDatePages(Term):
    """Select the ids of a page merged from the pages of each trip date.

    `page` is the page's query over every trip date, already ordered and limited. It is built
    once with the trip date as a parameter and written once per date, each in a subselect of its
    own: SQLite takes neither ORDER BY nor LIMIT on a part of a UNION ALL, nor parentheses
    around one. The merged rows are ordered and limited once more. Tortoise has no UNION, so
    this writes the statement around the branches that Tortoise builds. Every value in it stays
    a parameter, so the text it puts together is safe (S608 below).
    """

    def __init__(self, page: QuerySet[Guest], trip_dates: list[date], ordering: Sequence[str]):
        super().__init__()
        self.trip_date = _TripDate(trip_dates[0])
        self.branch = _branch(page, self.trip_date)
        self.trip_dates = trip_dates
        self.ordering = ordering
        self.limit = page._limit

    def get_sql(self, ctx: SqlContext) -> str:
        quote = ctx.quote_char or ""
        merged = " UNION ALL ".join(self._branches(ctx, quote))
        orders = ",".join(
            f"{quote}{name.removeprefix('-')}{quote} {'DESC' if name.startswith('-') else 'ASC'}"
            for name in self.ordering
        )
        limit = ValueWrapper(self.limit).get_sql(ctx)
        query = f"SELECT {quote}id{quote} FROM ({merged}) {quote}trip_dates{quote}"  # noqa: S608
        return f"({query} ORDER BY {orders} LIMIT {limit})"

    def _branches(self, ctx: SqlContext, quote: str) -> list[str]:
        branches = []
        for number, day in enumerate(self.trip_dates):
            self.trip_date.day = day
            branch = self.branch.query.get_sql(ctx.copy(subquery=True, with_alias=False))
            alias = f"{quote}trip_date_{number}{quote}"
            branches.append(f"SELECT * FROM {branch} {alias}")  # noqa: S608
        return branches
