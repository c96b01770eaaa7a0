"""How the guests and bookings lists reach the database: join order, trip-date bounds, plans."""

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections

from models.access import Viewer
from models.catalog import Activity
from models.dates import DateRange
from models.enums import Role
from models.pagination import PageRequest
from models.queries.booking_page import list_booking_page
from models.queries.bookings import BookingFilter, BookingSort, trip_start_bounds
from models.queries.guests import GuestFilter, GuestSort, list_guests
from tests.factories import World, add_booking, create_departure, create_organization, viewer_for
from tests.models.conftest import StatementLog, sqlite_plan


def page_statement(log: StatementLog, table: str) -> tuple[str, list[Any]]:
    """Return the statement that read the page: the one with a LIMIT on `table`."""
    for query, values in log.statements:
        if query.startswith("SELECT") and f'FROM "{table}"' in query and " LIMIT " in query:
            return query, values
    raise AssertionError(f"no page query on {table} among {log.statements}")


def page_chooser(query: str, table: str) -> str:
    """Return the subquery of a page statement that chooses the page's ids, cut by its LIMIT."""
    pattern = r'IN \((SELECT "(?:TABLE"\.")?id" "id" FROM "TABLE" .*? LIMIT \?)\)'
    chooser = re.search(pattern.replace("TABLE", table), query)
    assert chooser is not None, query
    return chooser.group(1)


async def book_both_departures(world: World) -> None:
    for departure in (world.departure, world.other_departure):
        await add_booking(
            seller=world.alpine, departure=departure, guests=[("Ann", "Lee"), ("Bo", "Ng")]
        )


async def page_request(
    viewer: Viewer, guest_filter: GuestFilter, sort: GuestSort, page_number: int
) -> PageRequest:
    """Return the request of the first page of one guest, or of the page after it."""
    request = PageRequest(first=1)
    if page_number == 2:
        first = await list_guests(viewer, guest_filter, sort, False, request)
        request = PageRequest(first=1, after=first.cursors[0])
    return request


def test_trip_start_bounds_cover_every_time_zone() -> None:
    lower, upper = trip_start_bounds(DateRange(date(2026, 12, 7), date(2026, 12, 13)))

    # 7 December starts at 10:00 UTC on 6 December at UTC+14 and 13 December ends at
    # 12:00 UTC on 14 December at UTC-12.
    assert lower == datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    assert upper == datetime(2026, 12, 14, 12, 0, tzinfo=UTC)


def test_trip_start_bounds_open_at_extreme_dates() -> None:
    lower, upper = trip_start_bounds(DateRange(date.min, date.max))

    assert lower.year == 1
    assert upper.year == 9999


@pytest.mark.parametrize(
    ("time_zone", "local_start"),
    [
        pytest.param("Pacific/Kiritimati", datetime(2026, 12, 7, 0, 0), id="utc+14 at midnight"),
        pytest.param("Etc/GMT+12", datetime(2026, 12, 7, 23, 59), id="utc-12 before midnight"),
    ],
)
async def test_guests_by_trip_start_keep_edge_departures(
    world: World, time_zone: str, local_start: datetime
) -> None:
    # given a supplier far from UTC with a departure at one end of 7 December, local time
    supplier = await create_organization("faraway", time_zone=time_zone)
    admin = world.user("alpine", Role.ADMIN)
    activity = await Activity.create(organization_id=supplier.id, name="Lagoon tour")
    starts_at = local_start.replace(tzinfo=ZoneInfo(time_zone)).astimezone(UTC)
    departure = await create_departure(activity, starts_at, time_zone=time_zone)
    booking = await add_booking(seller=world.alpine, departure=departure, created_by=admin)
    viewer = await viewer_for(admin)

    # when Alpine lists the guests of 7 December by trip start
    page = await list_guests(
        viewer,
        GuestFilter(
            booking=BookingFilter(trip_date=DateRange(date(2026, 12, 7), date(2026, 12, 7)))
        ),
        GuestSort.TRIP_START,
        False,
        PageRequest(first=10),
    )

    # then the guests of that departure are on the page and counted
    assert {guest.booking_id for guest in page.rows} == {booking.id}
    assert await page.count() == len(page.rows)


@pytest.mark.parametrize("include_partners", [False, True], ids=["own", "partners"])
@pytest.mark.parametrize(
    "trip_date",
    [DateRange(), DateRange(date(2026, 7, 1), date(2026, 7, 31))],
    ids=["all dates", "one month"],
)
@pytest.mark.parametrize("page_number", [1, 2], ids=["first page", "next page"])
async def test_guests_by_trip_start_sort_no_full_table(
    world: World,
    is_postgres: bool,
    statement_log: StatementLog,
    include_partners: bool,
    trip_date: DateRange,
    page_number: int,
) -> None:
    if is_postgres:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on its statistics")
    # given bookings on two departures, listed by trip start
    await book_both_departures(world)
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    guest_filter = GuestFilter(
        booking=BookingFilter(trip_date=trip_date, include_partners=include_partners)
    )
    request = await page_request(viewer, guest_filter, GuestSort.TRIP_START, page_number)
    statement_log.statements.clear()

    # when the page is read
    await list_guests(viewer, guest_filter, GuestSort.TRIP_START, False, request)

    # then SQLite chooses the page by walking departures in start order: it sorts only
    # guests of one start time and reads no table from end to end. Only the chosen rows are
    # sorted again after their booking, buyer and departure are joined. NOTE: without
    # statistics SQLite guesses table sizes from their pages, so which booking index it picks
    # shows only on large tables, in bench/growth.py.
    query, values = page_statement(statement_log, "guest")
    plan = await sqlite_plan(page_chooser(query, "guest"), values)
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
    assert "SCAN " not in plan, plan
    assert re.search(
        r"departure USING (COVERING )?INDEX idx_departure_starts__ce66e2 \(starts_at>", plan
    ), plan


async def test_bookings_newest_first_read_in_index_order(
    world: World, is_postgres: bool, statement_log: StatementLog
) -> None:
    if is_postgres:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on its statistics")
    # given a booking
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(seller=world.alpine, departure=world.departure)
    viewer = await viewer_for(admin)

    # when the default bookings page is read, newest first
    await list_booking_page(
        viewer,
        BookingFilter(),
        BookingSort.CREATED_AT,
        True,
        PageRequest(first=5),
        with_guests=False,
    )

    # then SQLite chooses the page by reading the creation-time index backwards, sorting
    # nothing; only the chosen rows are sorted again after the buyer and departure are joined
    query, values = page_statement(statement_log, "booking")
    plan = await sqlite_plan(page_chooser(query, "booking"), values)
    assert "TEMP B-TREE" not in plan, plan
    assert "idx_booking_created" in plan, plan


async def test_bookings_by_trip_start_filter_day(world: World) -> None:
    # given bookings on both departures, one of them a day later
    admin = world.user("alpine", Role.ADMIN)
    for departure in (world.departure, world.other_departure):
        await add_booking(seller=world.alpine, departure=departure)
    viewer = await viewer_for(admin)
    day = world.departure.starts_on

    # when bookings of the first departure's day are listed by trip start
    page = await list_booking_page(
        viewer,
        BookingFilter(trip_date=DateRange(day, day)),
        BookingSort.TRIP_START,
        False,
        PageRequest(first=10),
        with_guests=False,
    )

    # then only that departure's booking is listed and counted
    assert [booking.departure_id for booking in page.rows] == [world.departure.id]
    assert await page.count() == 1


async def sqlite_plan_rows(query: str, values: list[Any]) -> list[str]:
    _, rows = await connections.get("default").execute_query(f"EXPLAIN QUERY PLAN {query}", values)
    return [row["detail"] for row in rows]


@pytest.mark.parametrize("include_partners", [False, True], ids=["own", "partners"])
@pytest.mark.parametrize("page_number", [1, 2], ids=["first page", "next page"])
async def test_guests_by_booking_date_read_per_trip_date(
    world: World,
    is_postgres: bool,
    statement_log: StatementLog,
    include_partners: bool,
    page_number: int,
) -> None:
    if is_postgres:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on its statistics")
    # given bookings on two days of a week, listed newest booking first
    await book_both_departures(world)
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    week = DateRange(date(2026, 7, 13), date(2026, 7, 19))
    guest_filter = GuestFilter(
        booking=BookingFilter(trip_date=week, include_partners=include_partners)
    )
    request = await page_request(viewer, guest_filter, GuestSort.BOOKING_DATE, page_number)
    statement_log.statements.clear()

    # when the page is read
    await list_guests(viewer, guest_filter, GuestSort.BOOKING_DATE, False, request)

    # then SQLite reads each of the 7 trip dates from the index on the booking's trip date and
    # booking date, oldest booking first. It sorts only the guests of bookings made at the same
    # instant, then the up to 7 pages it merges, then the chosen rows. No table is read whole.
    query, values = page_statement(statement_log, "guest")
    plan = await sqlite_plan_rows(query, values)
    per_trip_date = [
        line
        for line in plan
        if re.fullmatch(
            r"SEARCH guest__booking USING INDEX idx_booking_trip_st_a64fd2 \(trip_starts_on=\?.*",
            line,
        )
    ]
    assert len(per_trip_date) == 7, plan
    assert plan.count("USE TEMP B-TREE FOR RIGHT PART OF ORDER BY") == 7, plan
    assert plan.count("USE TEMP B-TREE FOR ORDER BY") == 2, plan
    scans = [line for line in plan if line.startswith("SCAN ")]
    assert all(re.fullmatch(r"SCAN trip_date(s|_\d+)", line) for line in scans), plan


OTHER_PAGES = [
    pytest.param(GuestSort.TRIP_START, DateRange(date(2026, 7, 13), date(2026, 7, 19)), id="week"),
    pytest.param(GuestSort.LAST_NAME, DateRange(date(2026, 7, 13), date(2026, 7, 19)), id="name"),
    pytest.param(GuestSort.BOOKING_DATE, DateRange(date(2026, 7, 1), None), id="open range"),
    pytest.param(GuestSort.BOOKING_DATE, DateRange(date(2026, 7, 1), date(2026, 8, 31)), id="long"),
    pytest.param(GuestSort.TRIP_START, DateRange(), id="no filter"),
]


@pytest.mark.parametrize(("sort", "trip_date"), OTHER_PAGES)
async def test_other_guests_pages_leave_the_trip_date_index(
    world: World,
    is_postgres: bool,
    statement_log: StatementLog,
    sort: GuestSort,
    trip_date: DateRange,
) -> None:
    if is_postgres:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on its statistics")
    await add_booking(seller=world.alpine, departure=world.departure)
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    guest_filter = GuestFilter(booking=BookingFilter(trip_date=trip_date))

    page = await list_guests(viewer, guest_filter, sort, True, PageRequest(first=5))
    await page.count()

    # then no statement of the page or its count reads the index on the booking's trip date
    for query, values in statement_log.statements:
        if query.startswith("SELECT"):
            assert "idx_booking_trip_st" not in await sqlite_plan(query, values), query
