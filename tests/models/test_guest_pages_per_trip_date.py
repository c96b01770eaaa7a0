"""Guests pages in booking-date order over a few trip dates, merged from one page per trip date.

Every merged page must contain exactly the rows, cursors and page flags of the one plain statement
that chooses the page from all the range's guests, which is what `list_guests` runs when
MAX_MERGED_TRIP_DATES is 0.
"""

from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from models.access import Viewer
from models.bookings import Guest
from models.catalog import Activity, Departure
from models.dates import DateRange
from models.enums import BookingStatus, GuestCategory, Role
from models.pagination import PageRequest
from models.queries import guests as guests_module
from models.queries import tuples
from models.queries.bookings import BookingFilter
from models.queries.guests import GuestFilter, GuestSort, list_guests, merged_trip_dates
from tests.factories import World, add_booking, create_departure, viewer_for
from tests.models.conftest import StatementLog

FIRST_DAY = date(2026, 7, 13)
# Trip dates with guests: the 13th, 14th, 15th and 17th. The 16th and the 18th to the 20th
# have departures without bookings or no departure at all.
TRIP_DAYS = (0, 1, 2, 4)
PAGE_SIZE = 3


def days(first: int, last: int) -> DateRange:
    return DateRange(FIRST_DAY + timedelta(days=first), FIRST_DAY + timedelta(days=last))


RANGES = [
    pytest.param(days(1, 1), id="one day"),
    pytest.param(days(0, 2), id="three days"),
    pytest.param(days(0, 6), id="a week with empty days"),
    pytest.param(days(3, 3), id="a day without bookings"),
    pytest.param(days(20, 26), id="a week without departures"),
]


@pytest.fixture
async def trip_world(world: World) -> World:
    """Bookings on four trip dates of two activities, by three sellers, with tied booking dates.

    Bookings are made in threes at the same instant, so that runs of guests share a booking date
    across trip dates and only the guest id orders them.
    """
    glacier = await Activity.create(organization_id=world.alpine.id, name="Glacier hike")
    departures: list[Departure] = []
    for activity in (world.activity, glacier):
        for day in TRIP_DAYS:
            starts_at = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
            departures.append(
                await create_departure(
                    activity,
                    starts_at + timedelta(days=day, hours=8 + day),
                    capacity=100,
                    time_zone="Europe/Zurich",
                )
            )
    # A departure on the 16th without bookings.
    await create_departure(
        glacier, datetime(2026, 7, 16, 8, 0, tzinfo=UTC), time_zone="Europe/Zurich"
    )
    await departures[0].guides.add(world.user("alpine", Role.GUIDE))

    agent = world.user("alpine", Role.AGENT)
    sellers = [world.alpine, world.alpine, world.lakeside, world.summit]
    first_booked = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    for index in range(36):
        await add_booking(
            seller=sellers[index % 4],
            departure=departures[(index * 5) % len(departures)],
            created_by=agent if index % 3 == 0 else None,
            buyer_email=f"buyer{index}@example.com",
            guests=[(f"Anna{index}", "Keller"), (f"Ben{index}", "Brunner")][: 1 + index % 2],
            created_at=first_booked + timedelta(hours=index // 3),
            status=BookingStatus.CANCELLED if index % 5 == 0 else BookingStatus.CONFIRMED,
        )
    await Guest.filter(first_name__startswith="Ben").update(
        checked_in_at=datetime(2026, 7, 14, 6, 30, tzinfo=UTC), category=GuestCategory.CHILD
    )
    return world


def guest_filters(world: World, trip_date: DateRange) -> list[GuestFilter]:
    """The filters a guests page combines with its trip dates, one of each kind."""
    booking = BookingFilter(trip_date=trip_date)
    return [
        GuestFilter(booking=booking),
        GuestFilter(booking=replace(booking, include_partners=True)),
        GuestFilter(booking=replace(booking, statuses=(BookingStatus.CONFIRMED,))),
        GuestFilter(booking=replace(booking, include_partners=True, activity_id=world.activity.id)),
        GuestFilter(booking=replace(booking, booking_date=DateRange(date(2026, 5, 1), None))),
        GuestFilter(booking=replace(booking, search="keller")),
        GuestFilter(booking=booking, categories=(GuestCategory.CHILD,)),
        GuestFilter(booking=booking, checked_in=False),
    ]


async def walk(
    viewer: Viewer, guest_filter: GuestFilter, descending: bool, *, backward: bool
) -> list[tuple[list[int], list[str], bool, bool]]:
    """Read every page, from the first forward or from the last backward."""
    pages: list[tuple[list[int], list[str], bool, bool]] = []
    cursor = None
    while True:
        request = PageRequest(first=PAGE_SIZE, after=cursor)
        if backward:
            request = PageRequest(last=PAGE_SIZE, before=cursor)
        page = await list_guests(viewer, guest_filter, GuestSort.BOOKING_DATE, descending, request)
        pages.append(
            (
                [row.id for row in page.rows],
                list(page.cursors),
                page.has_next_page,
                page.has_previous_page,
            )
        )
        more = page.has_previous_page if backward else page.has_next_page
        if not more:
            return pages
        cursor = page.cursors[0] if backward else page.cursors[-1]


async def assert_same_pages(
    viewer: Viewer, guest_filter: GuestFilter, monkeypatch: pytest.MonkeyPatch
) -> None:
    for descending in (False, True):
        for backward in (False, True):
            merged = await walk(viewer, guest_filter, descending, backward=backward)
            with monkeypatch.context() as plain:
                plain.setattr(guests_module, "MAX_MERGED_TRIP_DATES", 0)
                expected = await walk(viewer, guest_filter, descending, backward=backward)
            assert merged == expected, (guest_filter, descending, backward)


READERS = [
    pytest.param("alpine", Role.ADMIN, id="supplier admin"),
    pytest.param("alpine", Role.AGENT, id="agent"),
    pytest.param("alpine", Role.GUIDE, id="guide"),
    pytest.param("lakeside", Role.EMPLOYEE, id="partner employee"),
]


@pytest.mark.parametrize("trip_date", RANGES)
@pytest.mark.parametrize(("organization", "role"), READERS)
async def test_merged_pages_equal_the_plain_statement(
    trip_world: World,
    monkeypatch: pytest.MonkeyPatch,
    trip_date: DateRange,
    organization: str,
    role: Role,
) -> None:
    viewer = await viewer_for(trip_world.user(organization, role))

    for guest_filter in guest_filters(trip_world, trip_date):
        await assert_same_pages(viewer, guest_filter, monkeypatch)


def merged_statements() -> list[tuple[Any, ...]]:
    """Return the keys of the kept statements of merged pages, leaving out the plain pages'."""
    return [key for key in tuples._shaped_statements if "guests per trip date" in key]


async def test_merged_statement_reused_for_equal_lengths(
    trip_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tuples, "_shaped_statements", OrderedDict())
    viewer = await viewer_for(trip_world.user("alpine", Role.ADMIN))

    await assert_same_pages(
        viewer, GuestFilter(booking=BookingFilter(trip_date=days(0, 2))), monkeypatch
    )
    three_days = merged_statements()
    # Another three days: the same statements, run with other trip dates.
    await assert_same_pages(
        viewer, GuestFilter(booking=BookingFilter(trip_date=days(1, 3))), monkeypatch
    )
    reused = merged_statements()
    # Two days make statements with two branches.
    await assert_same_pages(
        viewer, GuestFilter(booking=BookingFilter(trip_date=days(0, 1))), monkeypatch
    )

    assert three_days
    assert sorted(reused, key=str) == sorted(three_days, key=str)
    assert len(merged_statements()) == 2 * len(three_days)


async def test_merged_pages_mix_trip_dates(trip_world: World) -> None:
    # given guests on three trip dates, booked in an order that interleaves the dates
    viewer = await viewer_for(trip_world.user("alpine", Role.ADMIN))
    guest_filter = GuestFilter(booking=BookingFilter(trip_date=days(0, 2), include_partners=True))

    # when the pages are read newest booking first
    pages = await walk(viewer, guest_filter, True, backward=False)

    # then one page contains guests of several trip dates, newest booking first, ties by id
    rows = await Guest.filter(id__in=[guest for page in pages for guest in page[0]]).values_list(
        "id", "booking__created_at", "booking__departure__starts_on"
    )
    by_id = {guest: (created_at, trip) for guest, created_at, trip in rows}
    order = [guest for page in pages for guest in page[0]]
    assert order == sorted(order, key=lambda guest: (by_id[guest][0], guest), reverse=True)
    assert any(len({by_id[guest][1] for guest in page[0]}) > 1 for page in pages)
    assert {trip for _, trip in by_id.values()} == {
        FIRST_DAY + timedelta(days=n) for n in (0, 1, 2)
    }


@pytest.mark.parametrize(
    ("sort", "trip_date", "merged"),
    [
        pytest.param(GuestSort.BOOKING_DATE, days(0, 6), True, id="a week by booking date"),
        pytest.param(GuestSort.BOOKING_DATE, days(0, 30), True, id="31 days"),
        pytest.param(GuestSort.BOOKING_DATE, days(0, 31), False, id="32 days"),
        pytest.param(GuestSort.BOOKING_DATE, DateRange(FIRST_DAY, None), False, id="open end"),
        pytest.param(GuestSort.BOOKING_DATE, DateRange(None, FIRST_DAY), False, id="open start"),
        pytest.param(GuestSort.TRIP_START, days(0, 6), False, id="a week by trip start"),
        pytest.param(GuestSort.LAST_NAME, days(0, 6), False, id="a week by last name"),
    ],
)
async def test_merge_only_short_booking_date_ranges(
    trip_world: World,
    statement_log: StatementLog,
    sort: GuestSort,
    trip_date: DateRange,
    merged: bool,
) -> None:
    viewer = await viewer_for(trip_world.user("alpine", Role.ADMIN))
    guest_filter = GuestFilter(booking=BookingFilter(trip_date=trip_date))

    await list_guests(viewer, guest_filter, sort, True, PageRequest(first=PAGE_SIZE))

    assert bool(merged_trip_dates(guest_filter, sort)) is merged
    page_statements = [query for query, _ in statement_log.statements if " LIMIT " in query]
    assert any("trip_date_0" in query for query in page_statements) is merged


async def test_merged_page_keeps_values_as_parameters(
    trip_world: World, statement_log: StatementLog
) -> None:
    # given a search text that would break the statement if it were written into it
    viewer = await viewer_for(trip_world.user("alpine", Role.ADMIN))
    search = "Keller' OR '1'='1"
    guest_filter = GuestFilter(booking=BookingFilter(trip_date=days(0, 2), search=search))

    # when the merged page is read
    page = await list_guests(
        viewer, guest_filter, GuestSort.BOOKING_DATE, False, PageRequest(first=PAGE_SIZE)
    )

    # then nothing matches, and the text and the trip dates went as parameters
    assert page.rows == []
    query, values = next(
        (query, values) for query, values in statement_log.statements if "trip_date_0" in query
    )
    assert search not in query
    assert all(FIRST_DAY + timedelta(days=n) in values for n in range(3))
    assert "2026-07-1" not in query


def _ids(rows: list[Any]) -> list[int]:
    return [row.id for row in rows]


async def test_merged_page_of_empty_range(trip_world: World) -> None:
    viewer = await viewer_for(trip_world.user("alpine", Role.ADMIN))
    guest_filter = GuestFilter(booking=BookingFilter(trip_date=days(20, 26)))

    page = await list_guests(
        viewer, guest_filter, GuestSort.BOOKING_DATE, True, PageRequest(first=PAGE_SIZE)
    )

    assert _ids(page.rows) == []
    assert (page.has_next_page, page.has_previous_page) == (False, False)
    assert await page.count() == 0
