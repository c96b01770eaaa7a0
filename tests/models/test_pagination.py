"""Keyset pagination: through the list queries, and `paginate` called directly."""

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from models.bookings import Booking, Guest
from models.enums import BookingStatus, Role
from models.errors import InvalidArgument
from models.pagination import (
    PageRequest,
    SortKey,
    SortValueKind,
    decode_cursor,
    encode_cursor,
    paginate,
)
from models.queries.bookings import BOOKING_SORT_KEYS, BookingSort
from models.users import User
from schema.relay import from_global_id, to_global_id
from tests.factories import World, add_booking, create_departure, create_user
from tests.helpers import execute

BOOKINGS = """
query Bookings(
  $first: Int, $after: String, $last: Int, $before: String,
  $orderBy: BookingOrder, $filter: BookingFilterInput
) {
  bookings(
    first: $first, after: $after, last: $last, before: $before,
    orderBy: $orderBy, filter: $filter
  ) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id reference createdAt departure { startsAt } }
  }
}
"""

GUESTS = """
query Guests(
  $first: Int, $after: String, $last: Int, $before: String,
  $orderBy: GuestOrder, $filter: GuestFilterInput
) {
  guests(
    first: $first, after: $after, last: $last, before: $before,
    orderBy: $orderBy, filter: $filter
  ) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id lastName booking { createdAt departure { startsAt } } }
  }
}
"""

CUSTOMERS = """
query Customers(
  $first: Int, $after: String, $last: Int, $before: String,
  $orderBy: CustomerOrder, $filter: CustomerFilterInput
) {
  customers(
    first: $first, after: $after, last: $last, before: $before,
    orderBy: $orderBy, filter: $filter
  ) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id lastName firstBookingAt lastBookingAt bookingCount totalSpent { amount } }
  }
}
"""

USERS = """
query Users(
  $first: Int, $after: String, $last: Int, $before: String,
  $orderBy: UserOrder, $filter: UserFilterInput
) {
  users(
    first: $first, after: $after, last: $last, before: $before,
    orderBy: $orderBy, filter: $filter
  ) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    nodes { id lastName email createdAt }
  }
}
"""

DOCUMENTS = {"bookings": BOOKINGS, "guests": GUESTS, "customers": CUSTOMERS, "users": USERS}
# A generous bound on the pages of any list here, so a cursor that never advances fails the test
# instead of looping forever.
MAX_PAGES = 60
ONE_INSTANT = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _pk(node: dict[str, Any]) -> int:
    return from_global_id(node["id"])[1]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Listing:
    """One list query with a fixed order and filter, paged as a client would."""

    name: str
    variables: dict[str, Any]

    async def fetch(self, user: User, **page: Any) -> dict[str, Any]:
        result = await execute(user, DOCUMENTS[self.name], {**self.variables, **page})
        assert result.errors == [], result.errors
        assert result.data is not None
        connection: dict[str, Any] = result.data[self.name]
        return connection

    async def forward(self, user: User, size: int) -> list[dict[str, Any]]:
        """Fetch every page from the start with `first`, following `endCursor`."""
        pages = [await self.fetch(user, first=size)]
        while pages[-1]["pageInfo"]["hasNextPage"]:
            assert len(pages) < MAX_PAGES, "paging forward does not reach the end"
            pages.append(
                await self.fetch(user, first=size, after=pages[-1]["pageInfo"]["endCursor"])
            )
        return pages

    async def backward(self, user: User, size: int) -> list[dict[str, Any]]:
        """Fetch every page from the end with `last`, following `startCursor`; first page first."""
        pages = [await self.fetch(user, last=size)]
        while pages[0]["pageInfo"]["hasPreviousPage"]:
            assert len(pages) < MAX_PAGES, "paging backward does not reach the start"
            before = pages[0]["pageInfo"]["startCursor"]
            pages.insert(0, await self.fetch(user, last=size, before=before))
        return pages


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [node["id"] for page in pages for node in page["nodes"]]


@pytest.fixture
def admin(world: World) -> User:
    return world.user("alpine", Role.ADMIN)


async def add_tied_bookings(world: World, count: int) -> list[Booking]:
    return [
        await add_booking(
            seller=world.alpine,
            departure=world.departure,
            buyer_email=f"tied{index}@example.com",
            guests=[(f"Tied{index}", "Guest")],
            created_at=ONE_INSTANT,
        )
        for index in range(count)
    ]


async def tied_listing(world: World, name: str, count: int) -> tuple[Listing, list[str]]:
    """Add `count` bookings sharing one creation time and trip; return a list and its order."""
    bookings = await add_tied_bookings(world, count)
    if name == "bookings":
        # Newest first by default, so the ties come in descending id order.
        ids = sorted((booking.id for booking in bookings), reverse=True)
        return Listing(name, {}), [to_global_id("Booking", pk) for pk in ids]
    guests = await Guest.filter(booking_id__in=[booking.id for booking in bookings])
    # Earliest trip first by default, so the ties come in ascending id order.
    ids = sorted(guest.id for guest in guests)
    return Listing(name, {}), [to_global_id("Guest", pk) for pk in ids]


TIED_CASES = [("bookings", 26), ("bookings", 28), ("guests", 26), ("guests", 28)]
TIED_IDS = ["bookings-26", "bookings-28-exact-pages", "guests-26", "guests-28-exact-pages"]


@pytest.mark.parametrize(("name", "count"), TIED_CASES, ids=TIED_IDS)
async def test_tied_rows_forward_each_once_in_order(world, admin, name, count):
    listing, expected = await tied_listing(world, name, count)

    pages = await listing.forward(admin, 7)

    assert sorted(ids_of(pages)) == sorted(expected)
    assert ids_of(pages) == expected


@pytest.mark.parametrize(("name", "count"), TIED_CASES, ids=TIED_IDS)
async def test_tied_rows_backward_each_once_in_order(world, admin, name, count):
    listing, expected = await tied_listing(world, name, count)

    pages = await listing.backward(admin, 7)

    assert sorted(ids_of(pages)) == sorted(expected)
    assert ids_of(pages) == expected


@pytest.mark.parametrize(("name", "count"), TIED_CASES, ids=TIED_IDS)
async def test_tied_rows_forward_page_info_at_edges(world, admin, name, count):
    listing, _ = await tied_listing(world, name, count)

    pages = await listing.forward(admin, 7)

    assert [len(page["nodes"]) for page in pages] == [7] * 3 + [count - 7 * 3]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True] * 3 + [False]
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False] + [True] * 3


@pytest.mark.parametrize(("name", "count"), TIED_CASES, ids=TIED_IDS)
async def test_tied_rows_backward_page_info_at_edges(world, admin, name, count):
    listing, _ = await tied_listing(world, name, count)

    pages = await listing.backward(admin, 7)

    assert [len(page["nodes"]) for page in pages] == [count - 7 * 3] + [7] * 3
    assert [page["pageInfo"]["hasPreviousPage"] for page in pages] == [False] + [True] * 3
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True] * 3 + [False]


async def test_empty_list_page_info(world, admin):
    listing = Listing("bookings", {})

    page = await listing.fetch(admin, first=7)

    assert page["nodes"] == []
    assert page["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }
    assert page["totalCount"] == 0


async def test_page_after_last_row_is_empty(world, admin):
    await add_tied_bookings(world, 3)
    listing = Listing("bookings", {})
    whole = await listing.fetch(admin, first=3)

    page = await listing.fetch(admin, first=3, after=whole["pageInfo"]["endCursor"])

    assert page["nodes"] == []
    assert page["pageInfo"]["hasNextPage"] is False


async def test_paginate_tied_rows_directly(world):
    bookings = await add_tied_bookings(world, 26)
    queryset = Booking.filter(seller_id=world.alpine.id)
    sort = BOOKING_SORT_KEYS[BookingSort.CREATED_AT]

    forward: list[int] = []
    after = None
    for _ in range(MAX_PAGES):
        page = await paginate(queryset, sort, PageRequest(first=7, after=after))
        forward.extend(row.id for row in page.rows)
        if not page.has_next_page:
            break
        after = page.cursors[-1]

    backward: list[int] = []
    before = None
    for _ in range(MAX_PAGES):
        page = await paginate(queryset, sort, PageRequest(last=7, before=before))
        backward[:0] = [row.id for row in page.rows]
        if not page.has_previous_page:
            break
        before = page.cursors[0]

    assert forward == sorted(booking.id for booking in bookings)
    assert backward == forward


async def test_paginate_between_two_cursors(world):
    bookings = await add_tied_bookings(world, 10)
    queryset = Booking.filter(seller_id=world.alpine.id)
    sort = BOOKING_SORT_KEYS[BookingSort.CREATED_AT]
    ids = sorted(booking.id for booking in bookings)
    whole = await paginate(queryset, sort, PageRequest(first=10))

    page = await paginate(
        queryset, sort, PageRequest(first=10, after=whole.cursors[1], before=whole.cursors[7])
    )

    assert [row.id for row in page.rows] == ids[2:7]


@pytest.fixture
async def varied(world: World) -> None:
    """Rows whose sort values differ and tie, so every order shows its tie-breaking."""
    early = await create_departure(
        world.activity, datetime(2026, 6, 1, 6, 0, tzinfo=UTC), time_zone="Europe/Zurich"
    )
    # Starts with world.departure: trip starts tie.
    twin = await create_departure(
        world.activity, world.departure.starts_at, time_zone="Europe/Zurich"
    )
    departures = [world.departure, early, twin, world.other_departure]

    created = [ONE_INSTANT + timedelta(hours=hours) for hours in (0, 5, 0, 2, 5, 0, 2, 7)]
    # Totals that sort differently as text ("9.00" > "100.00") and as numbers, with ties.
    totals = ["100.00", "9.00", "55.50", "100.00", "9.00", "250.00", "55.50", "100.00"]
    buyers = ["Baker", "Adams", "Clark", "Baker", "Davis", "Adams", "Evans", "Clark"]
    guest_names = ["Ng", "Ng", "Moser", "Keller", "Ng", "Keller", "Moser", "Abt"]

    for index, created_at in enumerate(created):
        await add_booking(
            seller=world.alpine,
            departure=departures[index % len(departures)],
            buyer_email=f"{buyers[index].lower()}{index % 3}@example.com",
            buyer_name=("Kim", buyers[index]),
            guests=[("Anna", guest_names[index]), ("Ben", guest_names[-1 - index])],
            created_at=created_at,
            total=Decimal(totals[index]),
        )

    for index, last_name in enumerate(("Baker", "Adams", "Baker", "Zeller")):
        user = await create_user(
            world.alpine, Role.EMPLOYEE, email=f"{last_name.lower()}{index}@alpine.example"
        )
        user.last_name = last_name
        await user.save()


SortRead = Callable[[dict[str, Any]], Any]

ORDERS: list[tuple[str, str, SortRead]] = [
    ("bookings", "CREATED_AT", lambda node: _instant(node["createdAt"])),
    ("bookings", "TRIP_START", lambda node: _instant(node["departure"]["startsAt"])),
    ("bookings", "REFERENCE", lambda node: node["reference"]),
    ("guests", "TRIP_START", lambda node: _instant(node["booking"]["departure"]["startsAt"])),
    ("guests", "LAST_NAME", lambda node: node["lastName"]),
    ("guests", "BOOKING_DATE", lambda node: _instant(node["booking"]["createdAt"])),
    ("customers", "LAST_BOOKING_AT", lambda node: _instant(node["lastBookingAt"])),
    ("customers", "FIRST_BOOKING_AT", lambda node: _instant(node["firstBookingAt"])),
    ("customers", "LAST_NAME", lambda node: node["lastName"]),
    ("customers", "BOOKING_COUNT", lambda node: node["bookingCount"]),
    ("users", "LAST_NAME", lambda node: node["lastName"]),
    ("users", "EMAIL", lambda node: node["email"]),
    ("users", "CREATED_AT", lambda node: _instant(node["createdAt"])),
]
ORDER_CASES = [
    (name, field, direction, read) for name, field, read in ORDERS for direction in ("ASC", "DESC")
]
ORDER_IDS = [f"{name}-{field}-{direction}" for name, field, direction, _ in ORDER_CASES]


def expected_order(nodes: list[dict[str, Any]], read: SortRead, direction: str) -> list[str]:
    ordered = sorted(nodes, key=lambda node: (read(node), _pk(node)), reverse=direction == "DESC")
    return [node["id"] for node in ordered]


@pytest.mark.parametrize(("name", "field", "direction", "read"), ORDER_CASES, ids=ORDER_IDS)
async def test_order_pages_forward(world, admin, varied, name, field, direction, read):
    listing = Listing(name, {"orderBy": {"field": field, "direction": direction}})
    everything = await listing.fetch(admin, first=100)

    pages = await listing.forward(admin, 3)

    assert ids_of([everything]) == expected_order(everything["nodes"], read, direction)
    assert ids_of(pages) == ids_of([everything])


@pytest.mark.parametrize(("name", "field", "direction", "read"), ORDER_CASES, ids=ORDER_IDS)
async def test_order_pages_backward(world, admin, varied, name, field, direction, read):
    listing = Listing(name, {"orderBy": {"field": field, "direction": direction}})
    everything = await listing.fetch(admin, first=100)

    pages = await listing.backward(admin, 3)

    assert ids_of(pages) == expected_order(everything["nodes"], read, direction)


CURSOR_MISMATCHES = [
    ("bookings", ("CREATED_AT", "DESC"), "bookings", ("REFERENCE", "ASC")),
    ("bookings", ("CREATED_AT", "DESC"), "bookings", ("TRIP_START", "DESC")),
    ("bookings", ("CREATED_AT", "DESC"), "bookings", ("CREATED_AT", "ASC")),
    ("bookings", ("CREATED_AT", "DESC"), "guests", ("BOOKING_DATE", "DESC")),
    ("guests", ("BOOKING_DATE", "ASC"), "guests", ("TRIP_START", "ASC")),
    ("customers", ("BOOKING_COUNT", "DESC"), "customers", ("LAST_BOOKING_AT", "DESC")),
    ("customers", ("LAST_NAME", "ASC"), "customers", ("BOOKING_COUNT", "ASC")),
    ("users", ("EMAIL", "ASC"), "users", ("LAST_NAME", "ASC")),
]
CURSOR_MISMATCH_IDS = [
    "created-at-to-reference",
    "created-at-to-trip-start",
    "descending-to-ascending",
    "bookings-to-guests",
    "booking-date-to-trip-start",
    "total-spent-to-last-booking",
    "last-name-to-total-spent",
    "email-to-last-name",
]


@pytest.mark.parametrize("argument", ["after", "before"])
@pytest.mark.parametrize(
    ("source", "source_order", "target", "target_order"),
    CURSOR_MISMATCHES,
    ids=CURSOR_MISMATCH_IDS,
)
async def test_cursor_of_other_order_rejected(
    world, admin, varied, argument, source, source_order, target, target_order
):
    field, direction = source_order
    source_listing = Listing(source, {"orderBy": {"field": field, "direction": direction}})
    cursor = (await source_listing.fetch(admin, first=2))["pageInfo"]["endCursor"]
    field, direction = target_order
    variables = {"orderBy": {"field": field, "direction": direction}, argument: cursor}

    result = await execute(admin, DOCUMENTS[target], variables)

    assert result.codes == ["BAD_USER_INPUT"]
    assert cursor in result.messages[0]


def _crafted(sort: SortKey, table: str, **values: Any) -> str:
    """Encode a cursor for a row that need not exist."""
    return encode_cursor(sort, SimpleNamespace(**values), scope=table)


_NEWEST_FIRST = BOOKING_SORT_KEYS[BookingSort.CREATED_AT].reversed()
_BY_REFERENCE = BOOKING_SORT_KEYS[BookingSort.REFERENCE]
_BY_REFERENCE_ORDER = {"orderBy": {"field": "REFERENCE", "direction": "ASC"}}
_YEAR_ONE_EAST_OF_UTC = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))

GARBAGE_CURSORS = [
    ("abc", {}),
    ("", {}),
    ("!!!", {}),
    ("Ym9va2luZw", {}),
    (_b64(b"not json"), {}),
    (_b64(b"[]"), {}),
    (_b64(b'{"a": 1}'), {}),
    (_b64(b'["2026-05-04T09:30:00+00:00", 1]'), {}),
    (_b64(b"[1, 2, 3, 4]"), {}),
    ("A" * 5000, {}),
    (_crafted(_NEWEST_FIRST, "booking", id=2**40, created_at=ONE_INSTANT), {}),
    (_crafted(_NEWEST_FIRST, "booking", id=0, created_at=ONE_INSTANT), {}),
    (_crafted(_NEWEST_FIRST, "booking", id=True, created_at=ONE_INSTANT), {}),
    (_crafted(_NEWEST_FIRST, "booking", id=1, created_at=datetime(2026, 5, 4, 9, 30)), {}),
    (_crafted(_NEWEST_FIRST, "booking", id=1, created_at=_YEAR_ONE_EAST_OF_UTC), {}),
    (_crafted(_BY_REFERENCE, "booking", id=1, reference="T-\x00"), _BY_REFERENCE_ORDER),
    (_crafted(_BY_REFERENCE, "booking", id=1, reference="T-" + "X" * 40), _BY_REFERENCE_ORDER),
]
GARBAGE_IDS = [
    "not-base64-json",
    "empty",
    "punctuation",
    "base64-of-a-word",
    "base64-of-text",
    "empty-array",
    "object",
    "untagged-value-and-id",
    "too-many-parts",
    "very-long",
    "id-beyond-32-bits",
    "id-zero",
    "id-boolean",
    "timestamp-without-offset",
    "timestamp-before-year-1-in-utc",
    "text-with-nul",
    "text-longer-than-column",
]


async def test_crafted_cursor_pages_like_real_one(world, admin):
    bookings = await add_tied_bookings(world, 4)
    newest_first = sorted((booking.id for booking in bookings), reverse=True)
    cursor = _crafted(_NEWEST_FIRST, "booking", id=newest_first[1], created_at=ONE_INSTANT)

    page = await Listing("bookings", {}).fetch(admin, first=5, after=cursor)

    assert [_pk(node) for node in page["nodes"]] == newest_first[2:]


@pytest.mark.parametrize("argument", ["after", "before"])
@pytest.mark.parametrize(("cursor", "order"), GARBAGE_CURSORS, ids=GARBAGE_IDS)
async def test_garbage_cursor_rejected(world, admin, caplog, argument, cursor, order):
    await add_tied_bookings(world, 2)

    result = await execute(admin, BOOKINGS, {**order, "first": 5, argument: cursor})

    assert result.codes == ["BAD_USER_INPUT"]
    assert cursor[:50] in result.messages[0]
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("amount", ["1e1000000", "1e-20000", "NaN", "-Infinity"])
def test_cursor_decimal_out_of_range_rejected(amount):
    by_amount = SortKey("total_spent", SortValueKind.DECIMAL, lambda row: row.total_spent)
    cursor = _crafted(by_amount, "customer", id=1, total_spent=Decimal(amount))

    with pytest.raises(InvalidArgument):
        decode_cursor(by_amount, cursor, scope="customer")


@pytest.fixture
async def mixed_statuses(world: World) -> None:
    statuses = [BookingStatus.CONFIRMED] * 9 + [BookingStatus.CANCELLED] * 4
    statuses += [BookingStatus.PENDING] * 3
    for index, status in enumerate(statuses):
        await add_booking(
            seller=world.alpine,
            departure=world.departure,
            buyer_email=f"status{index}@example.com",
            buyer_name=("Kim", f"Status{index:02d}"),
            guests=[("Anna", f"Status{index:02d}"), ("Ben", f"Status{index:02d}")],
            created_at=ONE_INSTANT + timedelta(minutes=index % 5),
            status=status,
        )


COUNTED_LISTS = [
    ("bookings", {"status": ["CONFIRMED", "PENDING"]}, 12),
    ("guests", {"status": ["CONFIRMED", "PENDING"]}, 24),
    ("customers", {"status": ["CANCELLED"]}, 4),
    ("users", {"role": ["ADMIN", "GUIDE"]}, 2),
]


@pytest.mark.parametrize(
    ("name", "filter_value", "expected"), COUNTED_LISTS, ids=[c[0] for c in COUNTED_LISTS]
)
async def test_total_count_same_on_every_page(
    world, admin, mixed_statuses, name, filter_value, expected
):
    listing = Listing(name, {"filter": filter_value})

    first = await listing.fetch(admin, first=1)
    second = await listing.fetch(admin, first=1, after=first["pageInfo"]["endCursor"])
    tail = await listing.fetch(admin, last=1)
    beyond = await listing.fetch(admin, first=1, after=tail["pageInfo"]["endCursor"])
    every_row = ids_of(await listing.forward(admin, 5))

    counts = [page["totalCount"] for page in (first, second, tail, beyond)]
    assert counts == [expected] * 4
    assert len(every_row) == expected


async def test_total_count_ignores_page_size(world, admin, mixed_statuses):
    listing = Listing("bookings", {"filter": {"status": ["CANCELLED"]}})

    counts = [(await listing.fetch(admin, first=size))["totalCount"] for size in (0, 1, 100)]

    assert counts == [4, 4, 4]
