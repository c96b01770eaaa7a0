"""The tallies of bookings and guests: kept exact by triggers on every write, and counts that
add them up."""

import asyncio
import importlib
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.bookings import Booking, Guest
from models.catalog import Activity, Departure
from models.commands.bookings import (
    BookingInput,
    BuyerInput,
    GuestInput,
    cancel_booking,
    create_booking,
)
from models.dates import DateRange
from models.enums import BookingStatus, GuestCategory, Role
from models.organizations import Organization
from models.queries.booking_page import count_bookings
from models.queries.bookings import BookingFilter, bookings_query
from models.queries.guests import GuestFilter, count_guests, guests_query
from models.queries.tally import tally_query
from models.tallies import ActivityTally, SupplierTally
from tests.factories import World, add_booking, create_departure, viewer_for
from tests.models.conftest import StatementLog, sqlite_plan
from tests.tallies import assert_tallies_match_recount, tally_rows

BACKFILL = importlib.import_module("models.migrations.0005_booking_tallies").BACKFILL
PLANNED_PER_CALL_ABOVE = importlib.import_module(
    "models.migrations.0007_statement_tally_triggers"
).PLANNED_PER_CALL_ABOVE

FIRST_DAY = date(2026, 7, 14)


class Trips:
    """Departures on a few days of two Alpine activities, and one of Lakeside's own."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.departures: list[Departure] = []
        self.activities: list[Activity] = []

    async def build(self) -> "Trips":
        second = await Activity.create(organization_id=self.world.alpine.id, name="Glacier hike")
        lakeside_own = await Activity.create(
            organization_id=self.world.lakeside.id, name="Lake cruise"
        )
        self.activities = [self.world.activity, second, lakeside_own]
        for activity in self.activities:
            for day in range(3):
                for hour in (7, 13):
                    starts_at = datetime(2026, 7, 14 + day, hour, 0, tzinfo=UTC)
                    self.departures.append(
                        await create_departure(
                            activity, starts_at, capacity=500, time_zone="Europe/Zurich"
                        )
                    )
        return self


def sellers_of(world: World, departure: Departure, activities: list[Activity]) -> list[Any]:
    """Who may sell on `departure`: Alpine's activities by any of the three, Lakeside's by it."""
    if departure.activity_id == activities[2].id:
        return [world.lakeside]
    return [world.alpine, world.lakeside, world.summit]


async def random_writes(world: World, trips: Trips, rng: random.Random, steps: int) -> None:
    """Write bookings and guests through every kind of change the triggers follow."""
    bookings: list[Booking] = []
    for step in range(steps):
        action = rng.choice(
            ["create"] * 4
            + ["cancel", "confirm", "add guest", "remove guest", "move guest"]
            + ["move booking", "delete booking", "move departure", "resell"]
            + ["hand over activity"]
        )
        if action == "create" or not bookings:
            departure = rng.choice(trips.departures)
            seller = rng.choice(sellers_of(world, departure, trips.activities))
            booking = await add_booking(
                seller=seller,
                departure=departure,
                buyer_email=f"buyer{step}@example.com",
                guests=[("Guest", f"Number{step}x{n}") for n in range(rng.randint(1, 4))],
                status=rng.choice([BookingStatus.CONFIRMED, BookingStatus.PENDING]),
            )
            bookings.append(booking)
            continue
        booking = rng.choice(bookings)
        if action == "cancel":
            await Booking.filter(id=booking.id).update(status=BookingStatus.CANCELLED)
        elif action == "confirm":
            await Booking.filter(id=booking.id).update(status=BookingStatus.CONFIRMED)
        elif action == "add guest":
            await Guest.create(booking_id=booking.id, first_name="Late", last_name=f"Add{step}")
        elif action == "remove guest":
            guest = await Guest.filter(booking_id=booking.id).first()
            if guest is not None:
                await guest.delete()
        elif action == "move guest":
            guest = await Guest.filter(booking_id=booking.id).first()
            if guest is not None:
                await Guest.filter(id=guest.id).update(booking_id=rng.choice(bookings).id)
        elif action == "move booking":
            await Booking.filter(id=booking.id).update(
                departure_id=rng.choice(trips.departures[:12]).id
            )
        elif action == "delete booking":
            await Booking.filter(id=booking.id).delete()
            bookings.remove(booking)
        elif action == "move departure":
            departure = rng.choice(trips.departures)
            day = FIRST_DAY + timedelta(days=rng.randint(0, 3))
            await Departure.filter(id=departure.id).update(
                starts_at=datetime.combine(day, departure.starts_at.time(), tzinfo=UTC),
                starts_on=day,
                activity_id=rng.choice(trips.activities[:2]).id,
            )
        elif action == "resell":
            await Booking.filter(id=booking.id).update(seller_id=world.lakeside.id)
        elif action == "hand over activity":
            activity = rng.choice(trips.activities)
            owner = rng.choice([world.alpine, world.lakeside])
            await Activity.filter(id=activity.id).update(organization_id=owner.id)


def booking_filters(trips: Trips) -> list[BookingFilter]:
    first, second, third = (FIRST_DAY + timedelta(days=n) for n in range(3))
    ranges = [
        DateRange(),
        DateRange(first, first),
        DateRange(first, third),
        DateRange(second, None),
        DateRange(None, second),
    ]
    found = []
    for trip_date in ranges:
        for statuses in [(), (BookingStatus.CONFIRMED,), (BookingStatus.PENDING,)]:
            for include_partners in (False, True):
                found.append(
                    BookingFilter(
                        trip_date=trip_date, statuses=statuses, include_partners=include_partners
                    )
                )
    for activity in trips.activities:
        found.append(BookingFilter(activity_id=activity.id, include_partners=True))
        found.append(BookingFilter(activity_id=activity.id, trip_date=DateRange(second, second)))
    return found


READERS = [
    ("alpine", Role.ADMIN),
    ("alpine", Role.EMPLOYEE),
    ("alpine", Role.ACCOUNTANT),
    ("lakeside", Role.ADMIN),
    ("summit", Role.ACCOUNTANT),
]


async def assert_counts_match_rows(world: World, trips: Trips) -> None:
    for organization, role in READERS:
        viewer = await viewer_for(world.user(organization, role))
        for booking_filter in booking_filters(trips):
            tally = tally_query(viewer, booking_filter)
            assert tally is not None, booking_filter
            guests = await guests_query(viewer, GuestFilter(booking=booking_filter)).count()
            bookings = await bookings_query(viewer, booking_filter).count()
            assert await tally.sum("guests") == guests, (organization, booking_filter)
            assert await tally.sum("bookings") == bookings, (organization, booking_filter)


@pytest.mark.parametrize("rng_seed", [1, 2, 3])
async def test_tally_equals_a_recount_after_random_writes(world, rng_seed):
    # given bookings and guests written, changed, moved and deleted in a random order
    trips = await Trips(world).build()
    await random_writes(world, trips, random.Random(rng_seed), steps=80)

    # then the tallies equal a recount of the rows, and no row went below zero
    await assert_tallies_match_recount()


async def test_tally_counts_match_row_counts_for_every_reader(world):
    # given a random history of writes on several departures, sellers and statuses
    trips = await Trips(world).build()
    await random_writes(world, trips, random.Random(7), steps=80)

    # then every filter a tally can count gives the row count, for every reader
    await assert_counts_match_rows(world, trips)


async def test_backfill_rebuilds_the_tally_the_triggers_kept(world):
    # given a tally kept by the triggers through a random history
    trips = await Trips(world).build()
    await random_writes(world, trips, random.Random(11), steps=60)
    kept = [await tally_rows(ActivityTally), await tally_rows(SupplierTally)]

    # when the migration's backfill rebuilds them from the booking and guest rows
    connection = connections.get("default")
    await connection.execute_query("DELETE FROM supplier_tally")
    await connection.execute_query("DELETE FROM activity_tally")
    for statement in BACKFILL:
        await connection.execute_query(statement)

    # then they hold the same counts
    assert [await tally_rows(ActivityTally), await tally_rows(SupplierTally)] == kept


async def test_commands_keep_the_tally(world):
    # given bookings made and cancelled through the commands the API runs
    employee = await viewer_for(world.user("alpine", Role.EMPLOYEE))
    partner = await viewer_for(world.user("lakeside", Role.EMPLOYEE))
    made = []
    for index, viewer in enumerate([employee, partner, employee]):
        made.append(
            await create_booking(
                viewer,
                BookingInput(
                    departure_id=world.departure.id,
                    buyer=BuyerInput("Ada", "Buyer", f"ada{index}@example.com"),
                    guests=[
                        GuestInput("Guest", f"One{index}", answers=[("weight_kg", "70")]),
                        GuestInput("Guest", f"Two{index}", answers=[("weight_kg", "80")]),
                    ],
                    total_amount=Decimal("50.00"),
                ),
            )
        )
    await cancel_booking(employee, made[0].id)

    # then the tally has the cancelled and the confirmed guests apart, per seller
    assert await tally_rows() == {
        (world.activity.id, world.departure.starts_on, world.alpine.id, "CANCELLED"): (1, 2),
        (world.activity.id, world.departure.starts_on, world.alpine.id, "CONFIRMED"): (1, 2),
        (world.activity.id, world.departure.starts_on, world.lakeside.id, "CONFIRMED"): (1, 2),
    }


async def test_deleting_a_seller_deletes_its_tally(world):
    # given bookings that Lakeside and Alpine sold on Alpine's departure
    await add_booking(seller=world.alpine, departure=world.departure, guests=[("A", "B")])
    await add_booking(seller=world.lakeside, departure=world.departure, guests=[("C", "D")])

    # when Lakeside is deleted, with its bookings
    await Organization.filter(id=world.lakeside.id).delete()

    # then only Alpine's sale is left in the tallies
    await assert_tallies_match_recount()
    assert await tally_rows() == {
        (world.activity.id, world.departure.starts_on, world.alpine.id, "CONFIRMED"): (1, 1)
    }


@pytest.mark.parametrize(
    ("booking_filter", "guest_filter_fields", "answered"),
    [
        pytest.param(BookingFilter(), {}, True, id="no filter"),
        pytest.param(
            BookingFilter(trip_date=DateRange(FIRST_DAY, FIRST_DAY), include_partners=True),
            {},
            True,
            id="trip date with partners",
        ),
        pytest.param(
            BookingFilter(statuses=(BookingStatus.CONFIRMED,), activity_id=1), {}, True, id="status"
        ),
        pytest.param(
            BookingFilter(booking_date=DateRange(FIRST_DAY, None)), {}, False, id="booking date"
        ),
        pytest.param(BookingFilter(search="smith"), {}, False, id="search"),
        pytest.param(BookingFilter(search="  "), {}, False, id="blank search"),
        pytest.param(BookingFilter(departure_id=1), {}, False, id="departure"),
        pytest.param(BookingFilter(), {"categories": (GuestCategory.CHILD,)}, False, id="category"),
        pytest.param(BookingFilter(), {"checked_in": False}, False, id="checked in"),
    ],
)
async def test_tally_answers_only_filters_on_its_columns(
    world, booking_filter, guest_filter_fields, answered, count_queries
):
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    await add_booking(seller=world.alpine, departure=world.departure, guests=[("A", "B")])
    guest_filter = GuestFilter(booking=booking_filter, **guest_filter_fields)

    await count_guests(viewer, guest_filter)

    read_tally = any("_tally" in statement for statement in count_queries.statements)
    assert read_tally is answered


@pytest.mark.parametrize("role", [Role.AGENT, Role.GUIDE])
async def test_agents_and_guides_are_counted_by_rows(world, role):
    # given bookings an Alpine agent did not create, on a departure the guide guides
    await add_booking(seller=world.alpine, departure=world.departure, guests=[("A", "B")])
    await add_booking(seller=world.alpine, departure=world.other_departure, guests=[("C", "D")])
    viewer = await viewer_for(world.user("alpine", role))

    # then the tally is not asked, and the counts are the rows the viewer reads
    assert tally_query(viewer, BookingFilter()) is None
    assert (
        await count_guests(viewer, GuestFilter())
        == await guests_query(viewer, GuestFilter()).count()
    )
    assert (
        await count_bookings(viewer, BookingFilter())
        == await bookings_query(viewer, BookingFilter()).count()
    )


def booking_request(departure: Departure, index: int, guests: int) -> BookingInput:
    return BookingInput(
        departure_id=departure.id,
        buyer=BuyerInput("Buyer", f"Number{index}", f"buyer{index % 3}@example.com"),
        guests=[
            GuestInput("Guest", f"Number{index}x{n}", answers=[("weight_kg", "70")])
            for n in range(guests)
        ],
        total_amount=Decimal("30.00"),
    )


async def test_concurrent_bookings_and_cancels_keep_the_tally(world):
    # given two departures on one day, so bookings on both share tally rows
    second = await create_departure(
        world.activity,
        world.departure.starts_at + timedelta(hours=4),
        capacity=500,
        time_zone="Europe/Zurich",
    )
    await Departure.filter(id=world.departure.id).update(capacity=500)
    employee = await viewer_for(world.user("alpine", Role.EMPLOYEE))
    partner = await viewer_for(world.user("lakeside", Role.EMPLOYEE))
    earlier = [
        await create_booking(employee, booking_request(world.departure, index, 2))
        for index in range(6)
    ]

    # when bookings by two sellers race each other and cancellations of the earlier ones
    departures = [world.departure, second]
    await asyncio.gather(
        *(
            create_booking(
                employee if index % 2 else partner,
                booking_request(departures[index % 2], 100 + index, 1 + index % 3),
            )
            for index in range(24)
        ),
        *(cancel_booking(employee, booking.id) for booking in earlier),
    )

    # then the tallies contain exactly the row counts
    await assert_tallies_match_recount()
    admin = await viewer_for(world.user("alpine", Role.ADMIN))
    assert await count_guests(admin, GuestFilter(booking=BookingFilter(include_partners=True))) == (
        await Guest.all().count()
    )


@pytest.mark.parametrize(
    "booking_filter",
    [
        pytest.param(BookingFilter(trip_date=DateRange(FIRST_DAY, FIRST_DAY)), id="trip date"),
        pytest.param(
            BookingFilter(
                trip_date=DateRange(FIRST_DAY, None),
                statuses=(BookingStatus.CONFIRMED,),
                include_partners=True,
            ),
            id="partners",
        ),
        pytest.param(
            BookingFilter(trip_date=DateRange(None, FIRST_DAY), activity_id=1), id="activity"
        ),
    ],
)
async def test_tally_sum_reads_one_index_range(
    world, is_postgres, statement_log: StatementLog, booking_filter
):
    if is_postgres:
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on its statistics")
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    tally = tally_query(viewer, booking_filter)
    assert tally is not None

    # when the guests are counted
    await tally.sum("guests")

    # then SQLite reads one range of an index by trip date, and no whole table
    table = tally.tally._meta.db_table
    plan = await sqlite_plan(*statement_log.statements[-1])
    assert f"SEARCH {table} USING " in plan, plan
    assert "starts_on" in plan, plan
    assert "SCAN" not in plan, plan


# Writes of many rows in one statement, which PostgreSQL's triggers count once per statement.


async def execute(sql: str, values: list[Any] | None = None) -> None:
    await connections.get("default").execute_query(sql, values)


async def add_a_guest_to_every_booking(world: World, trips: Trips) -> None:
    await execute(
        "INSERT INTO guest (booking_id, first_name, last_name, email, phone, category, position) "
        "SELECT id, 'Bulk', 'Guest', '', '', 'ADULT', 9 FROM booking"
    )


async def add_guests_in_one_values_list(world: World, trips: Trips) -> None:
    first, second = await Booking.all().order_by("id").limit(2).values_list("id", flat=True)
    guests = [(first, "A", "ADULT"), (second, "C", "CHILD"), (first, "E", "ADULT")]
    rows = ", ".join(
        f"({booking}, '{name}', 'Guest', '', '', '{category}', 5)"
        for booking, name, category in guests
    )
    columns = "booking_id, first_name, last_name, email, phone, category, position"
    await execute(f"INSERT INTO guest ({columns}) VALUES {rows}")  # noqa: S608 (ids and constants)


async def copy_every_booking(world: World, trips: Trips) -> None:
    await execute(
        "INSERT INTO booking (reference, status, channel, total_amount, currency, created_at, "
        "customer_id, departure_id, seller_id) "
        "SELECT 'C-' || id, status, channel, total_amount, currency, created_at, customer_id, "
        "departure_id, seller_id FROM booking"
    )


async def cancel_every_booking(world: World, trips: Trips) -> None:
    await Booking.all().update(status=BookingStatus.CANCELLED)


async def move_bookings_to_one_departure(world: World, trips: Trips) -> None:
    moved = [departure.id for departure in trips.departures[:6]]
    await Booking.filter(departure_id__in=moved).update(departure_id=trips.departures[7].id)


async def resell_every_booking(world: World, trips: Trips) -> None:
    await Booking.all().update(seller_id=world.lakeside.id)


async def delete_bookings_with_guests(world: World, trips: Trips) -> None:
    booking_ids = await Booking.all().order_by("id").values_list("id", flat=True)
    await Booking.filter(id__in=booking_ids[::2]).delete()


async def delete_every_other_guest(world: World, trips: Trips) -> None:
    guest_ids = await Guest.all().order_by("id").values_list("id", flat=True)
    await Guest.filter(id__in=guest_ids[::2]).delete()


async def move_guests_to_one_booking(world: World, trips: Trips) -> None:
    booking_ids = await Booking.all().order_by("id").values_list("id", flat=True)
    await Guest.filter(booking_id__in=booking_ids[1::3]).update(booking_id=booking_ids[0])


async def move_departures_to_another_day(world: World, trips: Trips) -> None:
    moved = [departure.id for departure in trips.departures[::3]]
    await Departure.filter(id__in=moved).update(starts_on=FIRST_DAY + timedelta(days=5))


async def move_departures_to_another_activity(world: World, trips: Trips) -> None:
    moved = [departure.id for departure in trips.departures[:8]]
    await Departure.filter(id__in=moved).update(activity_id=trips.activities[1].id)


async def hand_over_every_activity(world: World, trips: Trips) -> None:
    await Activity.all().update(organization_id=world.summit.id)


async def check_in_every_guest(world: World, trips: Trips) -> None:
    await Guest.all().update(checked_in_at=datetime.now(UTC))


STATEMENTS = [
    pytest.param(add_a_guest_to_every_booking, True, id="insert guests of many bookings"),
    pytest.param(add_guests_in_one_values_list, True, id="insert a list of guests"),
    pytest.param(copy_every_booking, True, id="insert many bookings"),
    pytest.param(cancel_every_booking, True, id="cancel many bookings"),
    pytest.param(move_bookings_to_one_departure, True, id="move many bookings"),
    pytest.param(resell_every_booking, True, id="resell many bookings"),
    pytest.param(delete_bookings_with_guests, True, id="delete bookings with guests"),
    pytest.param(delete_every_other_guest, True, id="delete many guests"),
    pytest.param(move_guests_to_one_booking, True, id="move many guests"),
    pytest.param(move_departures_to_another_day, True, id="move departures to a day"),
    pytest.param(move_departures_to_another_activity, True, id="move departures to an activity"),
    pytest.param(hand_over_every_activity, True, id="hand over activities"),
    pytest.param(check_in_every_guest, False, id="check in guests"),
]


@pytest.mark.parametrize(("write", "changes_tallies"), STATEMENTS)
async def test_tally_after_a_statement_of_many_rows(world, write, changes_tallies):
    # given bookings and guests on several days, activities, sellers and statuses
    trips = await Trips(world).build()
    await random_writes(world, trips, random.Random(5), steps=40)
    before = [await tally_rows(ActivityTally), await tally_rows(SupplierTally)]

    # when one statement writes many of their rows
    await write(world, trips)

    # then the tallies equal a recount of the rows
    await assert_tallies_match_recount()
    after = [await tally_rows(ActivityTally), await tally_rows(SupplierTally)]
    assert (after != before) is changes_tallies


BOOKING_COPY = (
    "INSERT INTO booking (reference, status, channel, total_amount, currency, created_at, "
    "customer_id, departure_id, seller_id) "
    "SELECT '{prefix}' || id, status, channel, total_amount, currency, created_at, "
    "customer_id, departure_id, seller_id FROM booking"
)


async def double_bookings(world: World, trips: Trips, copy: int) -> None:
    await execute(BOOKING_COPY.format(prefix=f"D{copy}-"))


async def double_guests(world: World, trips: Trips) -> None:
    columns = "booking_id, first_name, last_name, email, phone, category, position"
    await execute(f"INSERT INTO guest ({columns}) SELECT {columns} FROM guest")  # noqa: S608 (constants)


async def move_every_guest_to_the_next_booking(world: World, trips: Trips) -> None:
    await execute(
        "UPDATE guest SET booking_id = "
        "COALESCE((SELECT MIN(id) FROM booking WHERE id > guest.booking_id), guest.booking_id)"
    )


async def test_tally_after_statements_of_hundreds_of_rows(world):
    # given bookings and guests on several days, activities, sellers and statuses
    trips = await Trips(world).build()
    await random_writes(world, trips, random.Random(9), steps=40)

    # when statements write more rows than the triggers count with the plans they keep
    steps: list[Callable[[World, Trips], Awaitable[None]]] = [
        *(partial(double_bookings, copy=copy) for copy in range(4)),
        double_guests,
        double_guests,
        double_guests,
        move_every_guest_to_the_next_booking,
        cancel_every_booking,
        move_bookings_to_one_departure,
        delete_every_other_guest,
        delete_bookings_with_guests,
    ]
    peak_guests = 0
    for step in steps:
        await step(world, trips)
        peak_guests = max(peak_guests, await Guest.all().count())

        # then the tallies equal a recount of the rows after each of them
        await assert_tallies_match_recount()
    # The last doubling inserted more than PLANNED_PER_CALL_ABOVE guests, so the plans made per
    # call ran too.
    assert peak_guests > 2 * PLANNED_PER_CALL_ABOVE


async def test_tally_of_a_booking_inserted_with_guests(world, is_postgres):
    if not is_postgres:
        pytest.skip("SQLite has no INSERT inside WITH")
    await add_booking(seller=world.alpine, departure=world.departure, guests=[("A", "B")])

    # when one statement inserts a copy of the booking and two guests of the copy
    await execute(
        "WITH copy AS (INSERT INTO booking (reference, status, channel, total_amount, currency, "
        "created_at, customer_id, departure_id, seller_id) SELECT 'C-' || id, status, channel, "
        "total_amount, currency, created_at, customer_id, departure_id, seller_id FROM booking "
        "RETURNING id) "
        "INSERT INTO guest (booking_id, first_name, last_name, email, phone, category, position) "
        "SELECT id, 'Copied', 'Guest' || n, '', '', 'ADULT', n "
        "FROM copy CROSS JOIN generate_series(1, 2) AS n"
    )

    # then the copy counts as one booking with two guests, beside the first
    await assert_tallies_match_recount()
    assert await tally_rows() == {
        (world.activity.id, world.departure.starts_on, world.alpine.id, "CONFIRMED"): (2, 3)
    }


TALLY_CHANGES = (
    "SELECT relname, n_tup_ins + n_tup_upd AS changes FROM pg_stat_xact_user_tables "
    "WHERE relname IN ('activity_tally', 'supplier_tally') ORDER BY relname"
)


async def tally_changes(connection: Any) -> dict[str, int]:
    """Count the rows written to each tally by this connection, as its statistics have them."""
    _, rows = await connection.execute_query(TALLY_CHANGES)
    return {row["relname"]: row["changes"] for row in rows}


async def test_tally_row_updated_once_per_statement(world, is_postgres):
    if not is_postgres:
        pytest.skip("SQLite's triggers count row by row, and it keeps no row versions to walk")
    booking = await add_booking(seller=world.alpine, departure=world.departure, guests=[])

    async with in_transaction() as connection:
        # pg_stat_xact_user_tables counts the writes of this transaction so far, so the test
        # compares the counts before and after the insert.
        before = await tally_changes(connection)

        # when 500 guests of one booking are inserted in one statement
        await connection.execute_query(
            "INSERT INTO guest (booking_id, first_name, last_name, email, phone, category, "
            "position) SELECT $1, 'Bulk', 'Guest' || n, '', '', 'ADULT', n "
            "FROM generate_series(1, 500) AS n",
            [booking.id],
        )

        # then each tally changed its one row once
        after = await tally_changes(connection)
    tallies = ("activity_tally", "supplier_tally")
    assert [after[table] - before.get(table, 0) for table in tallies] == [1, 1]
    await assert_tallies_match_recount()


ADD_TWO_GUESTS = (
    "INSERT INTO guest (booking_id, first_name, last_name, email, phone, category, position) "
    "VALUES ($1, 'Late', 'One', '', '', 'ADULT', 7), ($1, 'Late', 'Two', '', '', 'ADULT', 8)"
)
CANCEL = "UPDATE booking SET status = 'CANCELLED' WHERE id = $1"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(CANCEL, ADD_TWO_GUESTS, id="guests added during a cancel"),
        pytest.param(ADD_TWO_GUESTS, CANCEL, id="cancel during an addition of guests"),
    ],
)
async def test_tally_of_concurrent_cancel_and_guests(world, is_postgres, first, second):
    if not is_postgres:
        pytest.skip("SQLite lets one writer in at a time")
    booking = await add_booking(
        seller=world.alpine, departure=world.departure, guests=[("A", "B"), ("C", "D")]
    )
    first_written = asyncio.Event()

    async def write_first() -> None:
        async with in_transaction() as connection:
            await connection.execute_query(first, [booking.id])
            first_written.set()
            # The second write starts meanwhile, and its trigger waits for this commit.
            await asyncio.sleep(0.3)

    async def write_second() -> None:
        await first_written.wait()
        async with in_transaction() as connection:
            await connection.execute_query(second, [booking.id])

    # when the second transaction writes the same booking before the first commits
    await asyncio.gather(write_first(), write_second())

    # then the tally has the four guests under the booking's last status
    await assert_tallies_match_recount()
    assert await tally_rows() == {
        (world.activity.id, world.departure.starts_on, world.alpine.id, "CANCELLED"): (1, 4)
    }
