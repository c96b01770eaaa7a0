"""`fetch_tuples` returns the values Tortoise's own `values_list` returns, on both backends."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from models.bookings import Booking, Guest
from models.enums import BookingStatus
from models.queries.booking_page import GUEST_COLUMNS, PAGE_COLUMNS
from models.queries.tuples import fetch_tuples, fetch_tuples_where_in
from tests.factories import World, add_booking


async def add_bookings(world: World) -> list[Booking]:
    cancelled = await add_booking(
        seller=world.alpine,
        departure=world.departure,
        guests=[("Ann", "Lee"), ("Bo", "Kim")],
        created_at=datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC),
        status=BookingStatus.CANCELLED,
        total=Decimal("1234.50"),
    )
    cancelled.cancelled_at = datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)
    await cancelled.save()
    confirmed = await add_booking(
        seller=world.lakeside,
        departure=world.other_departure,
        created_at=datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
    )
    await Guest.filter(booking_id=confirmed.id).update(
        checked_in_at=datetime(2027, 1, 1, tzinfo=UTC)
    )
    return [cancelled, confirmed]


def tortoise_rows(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in rows]


async def test_page_columns_match_tortoise(world: World):
    await add_bookings(world)
    query = Booking.all().order_by("id")

    fetched = await fetch_tuples(query.values_list(*PAGE_COLUMNS))
    expected = await query.values_list(*PAGE_COLUMNS)

    assert len(fetched) == 2
    assert tortoise_rows(fetched) == tortoise_rows(expected)
    # Equal values could still differ in type or time zone; their text shows both.
    assert [repr(tuple(row)) for row in fetched] == [repr(row) for row in expected]


def guests_of(booking_ids: list[Any]) -> Any:
    return Guest.filter(booking_id__in=booking_ids).order_by("id").values_list(*GUEST_COLUMNS)


async def test_where_in_matches_tortoise(world: World):
    bookings = await add_bookings(world)
    ids = [booking.id for booking in bookings]

    for chosen in ([ids[0]], [ids[1]], ids, [ids[1], ids[0]], [*ids, 10**9]):
        fetched = await fetch_tuples_where_in(guests_of, chosen)
        expected = await guests_of(chosen)

        assert [repr(tuple(row)) for row in fetched] == [repr(row) for row in expected]


def guests_named_ann(booking_ids: list[Any]) -> Any:
    return Guest.filter(booking_id__in=booking_ids, first_name="Ann").values_list("id")


async def test_where_in_refuses_a_query_with_other_parameters(world: World):
    with pytest.raises(ValueError, match="parameters are its values only"):
        await fetch_tuples_where_in(guests_named_ann, [1, 2])
