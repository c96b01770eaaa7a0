"""`fetch_tuples` returns the values Tortoise's own `values_list` returns, on both backends."""

from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tortoise.expressions import Subquery

from models.bookings import Booking, Guest
from models.enums import BookingStatus
from models.queries import tuples
from models.queries.booking_page import GUEST_COLUMNS, PAGE_COLUMNS
from models.queries.tuples import (
    _faster,
    fetch_by_shape,
    fetch_chosen,
    fetch_tuples,
    fetch_tuples_of,
)
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
        fetched = await fetch_tuples_of(guests_of, chosen)
        expected = await guests_of(chosen)

        assert [repr(tuple(row)) for row in fetched] == [repr(row) for row in expected]


def guests_named_ann(booking_ids: list[Any]) -> Any:
    return Guest.filter(booking_id__in=booking_ids, first_name="Ann").values_list("id")


async def test_where_in_refuses_a_query_with_other_parameters(world: World):
    with pytest.raises(ValueError, match="parameters are its values only"):
        await fetch_tuples_of(guests_named_ann, [1, 2])


TIMESTAMP_TEXTS = [
    "2026-03-01 09:30:15.123456+00:00",
    "2026-03-01T09:30:15+02:00",
    "2026-03-01 09:30:15",
    "2026-03-01T09:30:15Z",
    "20260301T093015Z",
]


@pytest.mark.parametrize("text", TIMESTAMP_TEXTS)
def test_timestamp_conversion_matches_tortoise(text: str):
    field = Booking._meta.fields_map["created_at"]
    parsed = datetime.fromisoformat(text)

    for value in (text, parsed, None):
        converted = _faster(field.to_python_value)(value)

        assert repr(converted) == repr(field.to_python_value(value))


@pytest.mark.parametrize("value", [*BookingStatus, *(status.value for status in BookingStatus)])
def test_enum_conversion_matches_tortoise(value: Any):
    field = Booking._meta.fields_map["status"]

    converted = _faster(field.to_python_value)(value)

    assert converted is field.to_python_value(value)


def test_enum_conversion_rejects_unknown_value():
    field = Booking._meta.fields_map["status"]

    with pytest.raises(ValueError, match="'BOOKED' is not a valid BookingStatus"):
        _faster(field.to_python_value)("BOOKED")


def chosen_bookings(**filters: Any) -> Any:
    return Booking.filter(**filters).order_by("-created_at", "-id").limit(5)


def joined_bookings(chooser: Any, ordering: tuple[str, ...]) -> Any:
    return (
        Booking.filter(id__in=Subquery(chooser.values("id")))
        .order_by(*ordering)
        .values_list(*PAGE_COLUMNS)
    )


CHOOSERS: list[dict[str, Any]] = [
    {},
    {"seller_id__gt": 0},
    {"status": BookingStatus.CANCELLED},
    {"status": BookingStatus.CONFIRMED},
    {"created_at__lt": datetime(2026, 6, 1, tzinfo=UTC)},
    {"created_at__lt": datetime(2027, 6, 1, tzinfo=UTC)},
    {"departure__activity__name__icontains": "a"},
    {"reference": "none such"},
]


@pytest.mark.parametrize("ordering", [("-created_at", "-id"), ("reference", "id")])
async def test_chosen_rows_match_the_joined_statement(world: World, ordering: tuple[str, ...]):
    await add_bookings(world)

    # Each chooser runs twice, so the second run reuses the statement built by the first.
    for filters in [*CHOOSERS, *CHOOSERS]:
        chooser = chosen_bookings(**filters)

        fetched = await fetch_chosen(chooser, PAGE_COLUMNS, ordering)
        expected = await joined_bookings(chooser, ordering)

        assert [repr(tuple(row)) for row in fetched] == [repr(row) for row in expected]


async def test_chosen_statements_are_reused_with_new_parameters(world: World, monkeypatch):
    bookings = await add_bookings(world)
    monkeypatch.setattr(tuples, "_shaped_statements", OrderedDict())

    first = await fetch_chosen(Booking.filter(id=bookings[0].id), ("id",), ("id",))
    second = await fetch_chosen(Booking.filter(id=bookings[1].id), ("id",), ("id",))

    assert [row[0] for row in first] == [bookings[0].id]
    assert [row[0] for row in second] == [bookings[1].id]
    assert len(tuples._shaped_statements) == 1


async def test_chosen_statements_keep_the_most_recent(world: World, monkeypatch):
    await add_bookings(world)
    monkeypatch.setattr(tuples, "SHAPED_STATEMENTS_KEPT", 2)
    monkeypatch.setattr(tuples, "_shaped_statements", OrderedDict())

    # Three shapes of choosing statement, the first one used again last.
    choosers = [
        Booking.all(),
        Booking.filter(status=BookingStatus.CANCELLED),
        Booking.filter(seller_id=world.lakeside.id),
        Booking.all(),
    ]
    for chooser in choosers:
        fetched = await fetch_chosen(chooser, ("id",), ("id",))
        assert [row[0] for row in fetched] == await chooser.order_by("id").values_list(
            "id", flat=True
        )

    kept_statements = [key[2] for key in tuples._shaped_statements]
    assert len(kept_statements) == 2
    assert not any("status" in sql for sql in kept_statements)


async def test_shaped_statement_built_once(world: World, monkeypatch):
    bookings = await add_bookings(world)
    monkeypatch.setattr(tuples, "_shaped_statements", OrderedDict())
    builds: list[int] = []

    def by_id(booking_id: int) -> Any:
        def build() -> Any:
            builds.append(booking_id)
            return Booking.filter(id=booking_id).values_list("id")

        return build

    first = await fetch_by_shape(Booking.all(), ("by id",), by_id(bookings[0].id), [bookings[0].id])
    second = await fetch_by_shape(
        Booking.all(), ("by id",), by_id(bookings[1].id), [bookings[1].id]
    )

    assert [row[0] for row in first] == [bookings[0].id]
    assert [row[0] for row in second] == [bookings[1].id]
    assert builds == [bookings[0].id]


async def test_shaped_statement_with_other_parameters_not_kept(world: World, monkeypatch):
    bookings = await add_bookings(world)
    monkeypatch.setattr(tuples, "_shaped_statements", OrderedDict())

    # The caller's parameters do not match the statement's, which then runs as built.
    fetched = await fetch_by_shape(
        Booking.all(),
        ("by id",),
        lambda: Booking.filter(id=bookings[0].id).values_list("id"),
        [bookings[1].id],
    )

    assert [row[0] for row in fetched] == [bookings[0].id]
    assert len(tuples._shaped_statements) == 0
