"""DataLoaders: a page of nested rows costs the same number of SQL queries whatever its size."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.catalog import Activity
from models.enums import Role
from models.users import User
from tests.conftest import QueryCounter
from tests.factories import World, add_booking, create_departure
from tests.helpers import Result, execute

# Nested pages run one query per loader; this bound leaves room for a loader or two more.
MAX_QUERIES_PER_PAGE = 15
PAGE_SIZES = [1, 100]

BOOKINGS_PAGE = """
query BookingsPage($first: Int!) {
  bookings(first: $first, filter: {includePartners: true}) {
    totalCount
    nodes {
      reference
      buyer { email }
      total { amount }
      seller { name }
      answers { value field { key } }
      guests { firstName answers { value field { key label } } }
      departure { startsAt seatsTaken activity { name } }
    }
  }
}
"""

GUESTS_PAGE = """
query GuestsPage($first: Int!) {
  guests(first: $first, filter: {includePartners: true}) {
    totalCount
    nodes {
      firstName
      answers { value field { key } }
      booking { reference departure { startsAt activity { name } } }
    }
  }
}
"""

DEPARTURES_PAGE = """
query DeparturesPage($first: Int!) {
  departures(first: $first) {
    totalCount
    nodes {
      startsAt
      seatsTaken
      seatsLeft
      activity { name }
      guides { firstName }
      guests { firstName answers { value } booking { reference } }
    }
  }
}
"""


@pytest.fixture
async def busy_world(world: World) -> World:
    """100 departures before the world's own, each with one booking of two guests with answers.

    The departures alternate between two activities, every tenth has a guide, and the partner
    Lakeside sold every other booking, so the buyers shown vary. The first departure and the
    newest booking have every nested row, so a page of one needs every loader a page of 100
    does.
    """
    second = await Activity.create(organization_id=world.alpine.id, name="Glacier hike")
    guide = world.user("alpine", Role.GUIDE)
    first_start = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    first_booked = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    answers = {
        world.fields["hotel_pickup"]: "Hotel Bellevue",
        world.fields["weight_kg"]: "72.5",
        world.fields["dietary_needs"]: "vegan",
    }
    for index in range(100):
        departure = await create_departure(
            second if index % 2 else world.activity,
            first_start + timedelta(hours=index),
            time_zone="Europe/Zurich",
        )
        if index % 10 == 0:
            await departure.guides.add(guide)
        await add_booking(
            seller=world.alpine if index % 2 else world.lakeside,
            departure=departure,
            buyer_email=f"buyer{index % 30}@example.com",
            guests=[(f"Anna{index}", "Keller"), (f"Ben{index}", "Keller")],
            created_at=first_booked + timedelta(minutes=index),
            answers=answers,
        )
    return world


async def run_counted(
    counter: QueryCounter, user: User, document: str, variables: dict[str, Any]
) -> tuple[int, Result]:
    before = counter.count
    result = await execute(user, document, variables)
    return counter.count - before, result


def list_nodes(result: Result, field: str) -> list[dict[str, Any]]:
    assert result.errors == [], result.errors
    assert result.data is not None
    return list(result.data[field]["nodes"])


async def test_bookings_page_queries_independent_of_size(busy_world, count_queries):
    admin = busy_world.user("alpine", Role.ADMIN)

    runs = [
        await run_counted(count_queries, admin, BOOKINGS_PAGE, {"first": size})
        for size in PAGE_SIZES
    ]

    (one, small), (hundred, large) = runs
    print(f"bookings page: {one} queries for 1 booking, {hundred} for 100")
    assert len(list_nodes(small, "bookings")) == 1
    assert len(list_nodes(large, "bookings")) == 100
    assert all(len(node["guests"]) == 2 for node in list_nodes(large, "bookings"))
    assert all(node["guests"][0]["answers"] for node in list_nodes(large, "bookings"))
    assert hundred == one
    assert hundred <= MAX_QUERIES_PER_PAGE


async def test_guests_page_queries_independent_of_size(busy_world, count_queries):
    admin = busy_world.user("alpine", Role.ADMIN)

    runs = [
        await run_counted(count_queries, admin, GUESTS_PAGE, {"first": size}) for size in PAGE_SIZES
    ]

    (one, small), (hundred, large) = runs
    print(f"guests page: {one} queries for 1 guest, {hundred} for 100")
    assert len(list_nodes(small, "guests")) == 1
    assert len(list_nodes(large, "guests")) == 100
    assert all(len(node["answers"]) == 2 for node in list_nodes(large, "guests"))
    assert hundred == one
    assert hundred <= MAX_QUERIES_PER_PAGE


async def test_departures_page_queries_independent_of_size(busy_world, count_queries):
    admin = busy_world.user("alpine", Role.ADMIN)

    runs = [
        await run_counted(count_queries, admin, DEPARTURES_PAGE, {"first": size})
        for size in PAGE_SIZES
    ]

    (one, small), (hundred, large) = runs
    print(f"departures page: {one} queries for 1 departure, {hundred} for 100")
    assert len(list_nodes(small, "departures")) == 1
    assert len(list_nodes(large, "departures")) == 100
    assert all(len(node["guests"]) == 2 for node in list_nodes(large, "departures"))
    assert hundred == one
    assert hundred <= MAX_QUERIES_PER_PAGE


# Guests listed under a booking carry that booking, however deep the nesting goes.
NESTED_BOOKINGS_PAGE = """
query NestedBookings($first: Int!) {
  bookings(first: $first, filter: {includePartners: true}) {
    nodes {
      reference
      guests { booking { reference guests { booking { reference } } } }
    }
  }
}
"""

NESTED_GUESTS_PAGE = """
query NestedGuests($first: Int!) {
  guests(first: $first, filter: {includePartners: true}) {
    nodes { booking { reference guests { booking { reference guests { firstName } } } } }
  }
}
"""


def nested_references(booking: dict[str, Any]) -> set[str]:
    """Collect the references of every booking nested under the guests of `booking`."""
    found = set()
    for guest in booking["guests"]:
        nested = guest.get("booking")
        if nested is None:
            continue
        found.add(nested["reference"])
        if "guests" in nested:
            found |= nested_references(nested)
    return found


def starting_booking(node: dict[str, Any]) -> dict[str, Any]:
    """Return the booking a node of either nested page starts from: itself, or a guest's."""
    booking: dict[str, Any] = node.get("booking", node)
    return booking


@pytest.mark.parametrize(
    ("document", "field"),
    [(NESTED_BOOKINGS_PAGE, "bookings"), (NESTED_GUESTS_PAGE, "guests")],
    ids=["bookings", "guests"],
)
async def test_nested_guest_bookings_read_no_rows(busy_world, count_queries, document, field):
    admin = busy_world.user("alpine", Role.ADMIN)

    runs = [
        await run_counted(count_queries, admin, document, {"first": size}) for size in PAGE_SIZES
    ]

    (one, small), (hundred, large) = runs
    print(f"nested {field} page: {one} queries for 1 row, {hundred} for 100")
    assert len(list_nodes(small, field)) == 1
    nodes = list_nodes(large, field)
    assert len(nodes) == 100
    for node in nodes:
        booking = starting_booking(node)
        assert nested_references(booking) == {booking["reference"]}
        assert all(len(guest["booking"]["guests"]) == 2 for guest in booking["guests"])
    assert hundred == one
