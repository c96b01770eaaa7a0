"""The bookings page: a fixed number of SQL statements at any size, and the same answer as before.

A page reads its bookings with their buyer, departure and activity in one statement and their
guests in a second; `totalCount` adds a third. The viewer is built before the document runs, as the
server does when it authenticates the request, so its statements are not counted.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.enums import Role
from schema.context import Context
from schema.dataloaders import build_loaders
from tests.conftest import QueryCounter
from tests.factories import World, add_booking, create_departure, viewer_for
from tests.helpers import SCHEMA, Result, execute

MAX_PAGE_STATEMENTS = 4

BOOKING_FIELDS = """
  id reference status channel createdAt cancelledAt
  total { amount currency }
  buyer { firstName lastName email phone country language marketingConsent }
  departure { id startsAt endsAt tripDate capacity activity { id name description } }
  guests { id firstName lastName email phone category checkedInAt checkedIn }
"""

BOOKINGS_PAGE = f"""
query BookingsPage($first: Int!, $partners: Boolean! = false) {{
  bookings(first: $first, filter: {{includePartners: $partners}}) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {BOOKING_FIELDS} }}
  }}
}}
"""

BOOKINGS_WITHOUT_GUESTS = """
query { bookings(first: 100) { nodes { reference buyer { email } departure { startsAt } } } }
"""

BOOKINGS_GUESTS_IN_FRAGMENT = """
query {
  bookings(first: 100) { edges { node { ...Guests } } }
}
fragment Guests on Booking { reference guests { firstName } }
"""

BOOKING_NODE = f"""
query BookingNode($id: ID!) {{
  node(id: $id) {{ ... on Booking {{ {BOOKING_FIELDS} }} }}
}}
"""


@pytest.fixture
async def hundred_bookings(world: World) -> World:
    """100 bookings of two guests on 50 departures; the partner Lakeside sold every third."""
    first_start = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    first_booked = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    departures = [
        await create_departure(
            world.activity, first_start + timedelta(days=day), time_zone="Europe/Zurich"
        )
        for day in range(50)
    ]
    for index in range(100):
        await add_booking(
            seller=world.lakeside if index % 3 == 0 else world.alpine,
            departure=departures[index % 50],
            buyer_email=f"buyer{index}@example.com",
            guests=[(f"Anna{index}", "Keller"), (f"Ben{index}", "Keller")],
            created_at=first_booked + timedelta(minutes=index),
        )
    return world


async def run_counted(
    counter: QueryCounter, world: World, document: str, variables: dict[str, Any] | None = None
) -> tuple[int, Result]:
    """Run `document` as Alpine's admin; count the statements sent after the viewer is built."""
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    context = Context(viewer=viewer, loaders=build_loaders(viewer))
    before = counter.count
    result = await SCHEMA.execute(document, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    return counter.count - before, Result(data=result.data, errors=[])


def page_nodes(result: Result, connection: str = "nodes") -> list[dict[str, Any]]:
    assert result.data is not None
    return list(result.data["bookings"][connection])


@pytest.mark.parametrize("size", [1, 100], ids=["one booking", "hundred bookings"])
async def test_page_statements_stay_within_limit(hundred_bookings, count_queries, size):
    statements, result = await run_counted(
        count_queries, hundred_bookings, BOOKINGS_PAGE, {"first": size, "partners": True}
    )

    nodes = page_nodes(result)
    assert len(nodes) == size
    assert all(len(node["guests"]) == 2 for node in nodes)
    assert statements <= MAX_PAGE_STATEMENTS, count_queries.statements[-statements:]


async def test_page_without_guests_reads_one_statement(hundred_bookings, count_queries):
    statements, result = await run_counted(count_queries, hundred_bookings, BOOKINGS_WITHOUT_GUESTS)

    assert len(page_nodes(result)) == 66
    assert statements == 1


async def test_guests_selected_in_a_fragment_come_with_the_page(hundred_bookings, count_queries):
    statements, result = await run_counted(
        count_queries, hundred_bookings, BOOKINGS_GUESTS_IN_FRAGMENT
    )

    edges = page_nodes(result, "edges")
    assert all(len(edge["node"]["guests"]) == 2 for edge in edges)
    assert statements == 2


async def test_page_rows_equal_the_bookings_read_one_by_one(hundred_bookings):
    admin = hundred_bookings.user("alpine", Role.ADMIN)
    page = await execute(admin, BOOKINGS_PAGE, {"first": 100, "partners": True})

    nodes = page_nodes(page)
    for node in nodes[:: len(nodes) // 10]:
        single = await execute(admin, BOOKING_NODE, {"id": node["id"]})
        assert single.errors == []
        assert single.data == {"node": node}


async def test_partner_bookings_on_the_page_hide_buyer_and_total(hundred_bookings):
    admin = hundred_bookings.user("alpine", Role.ADMIN)

    result = await execute(admin, BOOKINGS_PAGE, {"first": 100, "partners": True})

    nodes = page_nodes(result)
    hidden = [node for node in nodes if node["buyer"] is None]
    assert len(nodes) == 100
    assert len(hidden) == 34
    assert all(node["total"] is None for node in hidden)


async def test_agent_reads_the_buyers_of_own_bookings_on_the_page(hundred_bookings):
    agent = hundred_bookings.user("alpine", Role.AGENT)
    document = "query { bookings(first: 100) { nodes { buyer { email } } } }"
    await add_booking(
        seller=hundred_bookings.alpine, departure=hundred_bookings.departure, created_by=agent
    )

    result = await execute(agent, document)

    assert result.errors == []
    assert result.data == {"bookings": {"nodes": [{"buyer": {"email": "buyer@example.com"}}]}}


async def test_guide_reading_buyers_of_the_page_is_forbidden(hundred_bookings):
    guide = hundred_bookings.user("alpine", Role.GUIDE)
    document = "query { bookings(first: 100) { nodes { reference buyer { email } } } }"
    await add_booking(seller=hundred_bookings.alpine, departure=hundred_bookings.departure)

    result = await execute(guide, document)

    assert result.codes == ["FORBIDDEN"]
    assert [node["buyer"] for node in page_nodes(result)] == [None]
