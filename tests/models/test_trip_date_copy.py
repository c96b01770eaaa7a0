"""The trip date copied onto each booking: equal to its departure's `starts_on` after any write.

Triggers keep it (models/migrations/0008_booking_trip_date.py), so the tests write through the
ORM, the commands and plain SQL, and set the copy themselves only to write a wrong date.
"""

import asyncio
import importlib
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.bookings import Booking
from models.catalog import Departure
from models.commands.bookings import BookingInput, BuyerInput, GuestInput, create_booking
from models.enums import BookingChannel, BookingStatus, Role
from tests.factories import World, add_booking, viewer_for
from tests.models.test_tallies import Trips, random_writes

BACKFILL = importlib.import_module("models.migrations.0008_booking_trip_date").BACKFILL


async def stale_copies() -> list[tuple[int, date | None, date]]:
    """Return the bookings whose copy differs from their departure's trip date."""
    rows = await Booking.all().values_list("id", "trip_starts_on", "departure__starts_on")
    return [row for row in rows if row[1] != row[2]]


def new_booking(reference: str, departure: Departure, like: Booking, **fields: Any) -> Booking:
    """Return an unsaved booking on `departure` with the seller and customer of `like`."""
    return Booking(
        reference=reference,
        seller_id=like.seller_id,
        departure_id=departure.id,
        customer_id=like.customer_id,
        status=BookingStatus.CONFIRMED,
        channel=BookingChannel.BACK_OFFICE,
        total_amount=Decimal("10.00"),
        currency="CHF",
        created_at=datetime(2026, 5, 1, tzinfo=UTC),
        **fields,
    )


async def execute(sql: str, values: list[Any] | None = None) -> None:
    await connections.get("default").execute_query(sql, values)


async def test_copy_set_on_insert_without_it(world: World) -> None:
    booking = await add_booking(seller=world.alpine, departure=world.departure)

    stored = await Booking.get(id=booking.id)

    assert stored.trip_starts_on == world.departure.starts_on


async def test_copy_of_another_date_corrected_on_insert(world: World) -> None:
    # when a booking is inserted with a trip date that is not its departure's
    booking = await add_booking(seller=world.alpine, departure=world.departure)
    await Booking.filter(id=booking.id).delete()
    await new_booking("WRONG-1", world.departure, booking, trip_starts_on=date(2030, 1, 1)).save()

    # then it contains the departure's date
    assert await stale_copies() == []
    assert await Booking.get(reference="WRONG-1").values_list("trip_starts_on", flat=True) == (
        world.departure.starts_on
    )


async def test_copy_follows_a_booking_to_another_departure(world: World) -> None:
    booking = await add_booking(seller=world.alpine, departure=world.departure)

    await Booking.filter(id=booking.id).update(departure_id=world.other_departure.id)

    assert await stale_copies() == []
    stored = await Booking.get(id=booking.id)
    assert stored.trip_starts_on == world.other_departure.starts_on


async def test_copy_follows_a_booking_saved_on_another_departure(world: World) -> None:
    # given a booking loaded with its trip date
    booking = await add_booking(seller=world.alpine, departure=world.departure)
    loaded = await Booking.get(id=booking.id)

    # when it is saved whole with another departure and the old trip date
    loaded.departure_id = world.other_departure.id
    await loaded.save()

    # then the stored copy is the new departure's date
    assert await stale_copies() == []


async def test_copy_written_alone_is_undone(world: World) -> None:
    booking = await add_booking(seller=world.alpine, departure=world.departure)

    await Booking.filter(id=booking.id).update(trip_starts_on=date(2030, 1, 1))

    assert await stale_copies() == []


async def test_copy_follows_a_rescheduled_departure(world: World) -> None:
    # given bookings on both departures
    for departure in (world.departure, world.departure, world.other_departure):
        await add_booking(seller=world.alpine, departure=departure)

    # when the first departure moves to the next week
    await Departure.filter(id=world.departure.id).update(
        starts_at=world.departure.starts_at + timedelta(days=7),
        starts_on=world.departure.starts_on + timedelta(days=7),
    )

    # then its bookings carry the new date and the others keep theirs
    assert await stale_copies() == []
    assert sorted(await Booking.all().values_list("trip_starts_on", flat=True)) == [
        world.other_departure.starts_on,
        world.departure.starts_on + timedelta(days=7),
        world.departure.starts_on + timedelta(days=7),
    ]


async def test_copy_after_statements_of_many_rows(world: World) -> None:
    # given bookings on several departures and days
    trips = await Trips(world).build()
    await random_writes(world, trips, random.Random(3), steps=30)

    # when statements copy every booking, reschedule many departures, and move many bookings
    await execute(
        "INSERT INTO booking (reference, status, channel, total_amount, currency, created_at, "
        "customer_id, departure_id, seller_id) "
        "SELECT 'C-' || id, status, channel, total_amount, currency, created_at, customer_id, "
        "departure_id, seller_id FROM booking"
    )
    assert await stale_copies() == []
    moved = [departure.id for departure in trips.departures[::2]]
    await Departure.filter(id__in=moved).update(starts_on=date(2026, 8, 1))
    assert await stale_copies() == []
    await Booking.filter(departure_id__in=moved).update(departure_id=trips.departures[1].id)

    # then every copy equals its departure's date
    assert await stale_copies() == []


async def test_copy_of_bookings_created_in_bulk(world: World) -> None:
    booking = await add_booking(seller=world.alpine, departure=world.departure)

    await Booking.bulk_create(
        [
            new_booking(f"BULK-{n}", (world.departure, world.other_departure)[n % 2], booking)
            for n in range(6)
        ]
    )

    assert await stale_copies() == []


async def test_copy_after_random_writes(world: World) -> None:
    # given bookings written, moved, deleted and departures rescheduled in a random order
    trips = await Trips(world).build()
    await random_writes(world, trips, random.Random(13), steps=80)

    # then every copy equals its departure's date
    assert await stale_copies() == []


async def test_booking_command_returns_the_copy(world: World) -> None:
    employee = await viewer_for(world.user("alpine", Role.EMPLOYEE))

    created = await create_booking(
        employee,
        BookingInput(
            departure_id=world.departure.id,
            buyer=BuyerInput("Ada", "Buyer", "ada@example.com"),
            guests=[GuestInput("Guest", "One", answers=[("weight_kg", "70")])],
            total_amount=Decimal("50.00"),
        ),
    )

    assert created.trip_starts_on == world.departure.starts_on
    assert await stale_copies() == []


class RolledBack(Exception):
    """Rolls a test's transaction back, carrying what the test saw inside it."""


async def lose_copies_and_backfill(is_postgres: bool) -> None:
    """Empty every copy and run the migration's backfill, in a transaction rolled back after."""
    async with in_transaction() as connection:
        # The trigger that would restore the copies is dropped until the rollback.
        trigger = "trip_date_booking ON booking" if is_postgres else "trip_date_booking_update"
        await connection.execute_query(f"DROP TRIGGER {trigger}")
        await connection.execute_query("UPDATE booking SET trip_starts_on = NULL")
        lost = await stale_copies()
        await connection.execute_query(BACKFILL)
        raise RolledBack(lost, await stale_copies())


async def test_backfill_sets_every_copy(world: World, is_postgres: bool) -> None:
    # given bookings written through a random history
    trips = await Trips(world).build()
    await random_writes(world, trips, random.Random(17), steps=30)

    # when their copies are lost and the migration's backfill runs
    with pytest.raises(RolledBack) as rolled_back:
        await lose_copies_and_backfill(is_postgres)

    # then every copy lost was set again to its departure's date
    lost, after_backfill = rolled_back.value.args
    assert len(lost) == await Booking.all().count()
    assert after_backfill == []
    assert await stale_copies() == []


@pytest.mark.parametrize("reschedule_first", [True, False], ids=["reschedule first", "book first"])
async def test_copy_of_a_booking_made_during_a_reschedule(
    world: World, is_postgres: bool, reschedule_first: bool
) -> None:
    if not is_postgres:
        pytest.skip("SQLite lets one writer in at a time")
    template = await add_booking(seller=world.alpine, departure=world.departure)
    new_day = world.departure.starts_on + timedelta(days=3)
    first_written = asyncio.Event()

    async def reschedule(connection: Any) -> None:
        await connection.execute_query(
            "UPDATE departure SET starts_on = $1 WHERE id = $2", [new_day, world.departure.id]
        )

    async def book(connection: Any) -> None:
        await connection.execute_query(
            "INSERT INTO booking (reference, status, channel, total_amount, currency, "
            "created_at, customer_id, departure_id, seller_id) VALUES ('RACE-1', 'CONFIRMED', "
            "'BACK_OFFICE', '10.00', 'CHF', now(), $1, $2, $3)",
            [template.customer_id, world.departure.id, world.alpine.id],
        )

    first, second = (reschedule, book) if reschedule_first else (book, reschedule)

    async def write_first() -> None:
        async with in_transaction() as connection:
            await first(connection)
            first_written.set()
            # The second write starts meanwhile and waits for this commit.
            await asyncio.sleep(0.3)

    async def write_second() -> None:
        await first_written.wait()
        async with in_transaction() as connection:
            await second(connection)

    # when a booking is inserted while another transaction reschedules its departure
    await asyncio.gather(write_first(), write_second())

    # then the booking carries the new date
    assert await stale_copies() == []
    assert await Booking.filter(trip_starts_on=new_day).count() == 2
