"""The guests page: each guest with its booking in one statement, equal to the guest read alone.

A page chooses its guests by id first, then reads each guest's booking, the booking's buyer,
departure and activity as plain rows. The nested fields must return the same values as for a guest
read by `node(id:)`, whose booking, buyer and departure come through the DataLoaders.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.bookings import Buyer
from models.bookings import Guest as GuestModel
from models.enums import BookingStatus, Role
from models.users import User
from schema.context import Context
from schema.dataloaders import build_loaders
from tests.conftest import QueryCounter
from tests.factories import World, add_booking, create_departure, viewer_for
from tests.helpers import SCHEMA, Result, execute

GUEST_FIELDS = """
  id firstName lastName email phone category checkedIn checkedInAt
  answers { value key }
  booking {
    id reference status channel createdAt cancelledAt
    buyer { firstName lastName email phone country language marketingConsent }
    total { amount currency }
    departure { id startsAt endsAt tripDate capacity activity { id name description } }
    seller { id name }
    answers { value key }
    guests { id firstName }
  }
"""

GUESTS_PAGE = f"""
query GuestsPage($first: Int, $after: String, $last: Int, $before: String,
                 $orderBy: GuestOrder, $partners: Boolean! = true) {{
  guests(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy,
         filter: {{includePartners: $partners}}) {{
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    nodes {{ {GUEST_FIELDS} }}
  }}
}}
"""

GUEST_NODE = f"""
query GuestNode($id: ID!) {{
  node(id: $id) {{ ... on Guest {{ {GUEST_FIELDS} }} }}
}}
"""

GUESTS_WITH_BOOKINGS = """
query GuestsWithBookings($first: Int!) {
  guests(first: $first, filter: {includePartners: true}) {
    nodes {
      lastName
      booking {
        reference buyer { email } total { amount } departure { startsAt activity { name } }
      }
    }
  }
}
"""

ORDERS = [
    {"field": field, "direction": direction}
    for field in ("TRIP_START", "LAST_NAME", "BOOKING_DATE")
    for direction in ("ASC", "DESC")
]


@pytest.fixture
async def guests_world(world: World) -> World:
    """60 guests on 30 bookings, with ties in every order. The partner Lakeside sold every fourth.

    Two departures start at the same instant, bookings were made three at a time and the guests
    share three last names, so each order has runs of equal values that only the id breaks.
    """
    tied = await create_departure(
        world.activity, world.departure.starts_at, time_zone="Europe/Zurich"
    )
    departures = [world.departure, tied, world.other_departure]
    first_booked = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    last_names = ["Keller", "Brunner", "Meier"]
    for index in range(30):
        await add_booking(
            seller=world.lakeside if index % 4 == 0 else world.alpine,
            departure=departures[index % 3],
            buyer_email=f"buyer{index}@example.com",
            guests=[
                (f"Anna{index}", last_names[index % 3]),
                (f"Ben{index}", last_names[(index + 1) % 3]),
            ],
            created_at=first_booked + timedelta(hours=index // 3),
            status=BookingStatus.CANCELLED if index % 5 == 0 else BookingStatus.CONFIRMED,
            answers={world.fields["weight_kg"]: str(60 + index)},
        )
    await GuestModel.filter(first_name__startswith="Ben").update(
        checked_in_at=datetime(2026, 7, 14, 6, 30, tzinfo=UTC)
    )
    return world


async def run_counted(
    counter: QueryCounter, user: User, document: str, variables: dict[str, Any]
) -> tuple[int, Result]:
    """Run `document` as `user` and count the statements sent after the viewer is built."""
    viewer = await viewer_for(user)
    context = Context(viewer=viewer, loaders=build_loaders(viewer))
    before = counter.count
    result = await SCHEMA.execute(document, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    return counter.count - before, Result(data=result.data, errors=[])


def page_nodes(result: Result) -> list[dict[str, Any]]:
    assert result.data is not None
    return list(result.data["guests"]["nodes"])


def page_info(result: Result) -> dict[str, Any]:
    assert result.data is not None
    return dict(result.data["guests"]["pageInfo"])


def sort_value(node: dict[str, Any], field: str) -> str:
    if field == "TRIP_START":
        return str(node["booking"]["departure"]["startsAt"])
    if field == "LAST_NAME":
        return str(node["lastName"])
    return str(node["booking"]["createdAt"])


async def walk_forward(user: User, order: dict[str, str], size: int) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        result = await execute(user, GUESTS_PAGE, {"first": size, "after": after, "orderBy": order})
        assert result.errors == []
        ids += [node["id"] for node in page_nodes(result)]
        if not page_info(result)["hasNextPage"]:
            return ids
        after = page_info(result)["endCursor"]


async def walk_backward(user: User, order: dict[str, str], size: int) -> list[str]:
    ids: list[str] = []
    before = None
    while True:
        result = await execute(
            user, GUESTS_PAGE, {"last": size, "before": before, "orderBy": order}
        )
        assert result.errors == []
        ids = [node["id"] for node in page_nodes(result)] + ids
        if not page_info(result)["hasPreviousPage"]:
            return ids
        before = page_info(result)["startCursor"]


@pytest.mark.parametrize("size", [1, 60], ids=["one guest", "sixty guests"])
async def test_page_with_bookings_reads_one_statement(guests_world, count_queries, size):
    admin = guests_world.user("alpine", Role.ADMIN)

    statements, result = await run_counted(
        count_queries, admin, GUESTS_WITH_BOOKINGS, {"first": size}
    )

    assert len(page_nodes(result)) == size
    assert statements == 1, count_queries.statements[-statements:]


@pytest.mark.parametrize("organization", ["alpine", "lakeside"])
async def test_page_matches_guests_read_by_node(guests_world, organization):
    admin = guests_world.user(organization, Role.ADMIN)
    page = await execute(admin, GUESTS_PAGE, {"first": 100})

    nodes = page_nodes(page)
    assert page.errors == []
    for node in nodes:
        single = await execute(admin, GUEST_NODE, {"id": node["id"]})
        assert single.errors == []
        assert single.data == {"node": node}


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: "-".join(order.values()))
async def test_walks_return_the_whole_list(guests_world, order):
    admin = guests_world.user("alpine", Role.ADMIN)
    whole = page_nodes(await execute(admin, GUESTS_PAGE, {"first": 100, "orderBy": order}))

    forward = await walk_forward(admin, order, 7)
    backward = await walk_backward(admin, order, 7)

    ids = [node["id"] for node in whole]
    values = [sort_value(node, order["field"]) for node in whole]
    assert len(ids) == 60
    assert values == sorted(values, reverse=order["direction"] == "DESC")
    assert forward == ids
    assert backward == ids


async def test_partner_sales_hide_buyer_and_total(guests_world):
    admin = guests_world.user("alpine", Role.ADMIN)

    nodes = page_nodes(await execute(admin, GUESTS_PAGE, {"first": 100}))

    partner_sold = [node for node in nodes if node["booking"]["seller"]["name"] == "Lakeside"]
    assert len(partner_sold) == 16
    assert all(node["booking"]["buyer"] is None for node in partner_sold)
    assert all(node["booking"]["total"] is None for node in partner_sold)


async def test_partner_reads_own_buyers(guests_world):
    partner = guests_world.user("lakeside", Role.ADMIN)

    nodes = page_nodes(await execute(partner, GUESTS_PAGE, {"first": 100}))

    assert len(nodes) == 16
    assert all(node["booking"]["buyer"]["email"].startswith("buyer") for node in nodes)


async def test_guide_reading_buyers_is_forbidden(guests_world):
    guide = guests_world.user("alpine", Role.GUIDE)
    document = "query { guests(first: 100) { nodes { lastName booking { buyer { email } } } } }"

    result = await execute(guide, document)

    assert set(result.codes) == {"FORBIDDEN"}
    assert all(node["booking"]["buyer"] is None for node in page_nodes(result))


async def test_booking_without_buyer_row(guests_world):
    admin = guests_world.user("alpine", Role.ADMIN)
    booking = await guests_world.alpine.bookings.all().order_by("id").first()
    assert booking is not None
    # Every booking is written with its buyer, so this test removes one. The page reads buyers
    # with an outer join, which gives no buyer here.
    await Buyer.filter(booking_id=booking.id).delete()

    nodes = page_nodes(await execute(admin, GUESTS_PAGE, {"first": 100, "partners": False}))

    without_buyer = [node for node in nodes if node["booking"]["reference"] == booking.reference]
    assert len(without_buyer) == 2
    assert all(node["booking"]["buyer"] is None for node in without_buyer)
    assert all(node["booking"]["total"] is not None for node in without_buyer)
