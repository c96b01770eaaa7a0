"""An export contains exactly the rows its list shows with the same filter, every page of it.

Alpine sold five bookings and its ACTIVE partner Lakeside two on Alpine's departures; Summit, whose
connection is REVOKED, sold one. Three Alpine bookings and Lakeside's first share one trip start,
and three customers share a last name, so batches and pages split rows with equal sort keys.
Batches hold 2 rows and pages 3, so every export crosses several batches and every list several
pages.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from api.exports.jobs import write_csv
from models.bookings import Booking, Guest
from models.commands.exports import ExportOptions
from models.customers import Customer
from models.enums import BookingStatus, GuestCategory, Role
from models.queries.guests import GuestFilter
from models.users import User
from schema.relay import to_global_id
from tests.api.exports.support import export_rows
from tests.factories import World, add_booking, create_departure, create_user, viewer_for
from tests.helpers import execute

BATCH_SIZE = 2
PAGE_SIZE = 3

GUESTS = """
query Guests($first: Int!, $after: String, $filter: GuestFilterInput) {
  guests(first: $first, after: $after, filter: $filter) {
    nodes { firstName lastName email booking { reference } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CUSTOMERS = """
query Customers($first: Int!, $after: String, $filter: CustomerFilterInput) {
  customers(
    first: $first, after: $after, filter: $filter, orderBy: {field: LAST_NAME, direction: ASC}
  ) {
    nodes { email firstName lastName }
    pageInfo { hasNextPage endCursor }
  }
}
"""

USERS = """
query Users($first: Int!, $after: String, $filter: UserFilterInput) {
  users(first: $first, after: $after, filter: $filter, orderBy: {field: EMAIL, direction: ASC}) {
    nodes { email firstName lastName }
    pageInfo { hasNextPage endCursor }
  }
}
"""

Key = tuple[str, ...]


@dataclass(frozen=True)
class ListShape:
    """How to page a list through the API and how to key its rows and the export's rows."""

    export_list: str
    document: str
    field_name: str
    node_key: Callable[[dict[str, Any]], Key]
    row_key: Callable[[dict[str, str]], Key]


GUEST_LIST = ListShape(
    "GUESTS",
    GUESTS,
    "guests",
    lambda node: (
        node["booking"]["reference"],
        node["firstName"],
        node["lastName"],
        node["email"],
    ),
    lambda row: (
        row["booking_reference"],
        row["guest_first_name"],
        row["guest_last_name"],
        row["guest_email"],
    ),
)
CUSTOMER_LIST = ListShape(
    "CUSTOMERS",
    CUSTOMERS,
    "customers",
    lambda node: (node["email"], node["firstName"], node["lastName"]),
    lambda row: (row["email"], row["first_name"], row["last_name"]),
)
USER_LIST = ListShape(
    "USERS",
    USERS,
    "users",
    lambda node: (node["email"], node["firstName"], node["lastName"]),
    lambda row: (row["email"], row["first_name"], row["last_name"]),
)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.exports.jobs.BATCH_SIZE", BATCH_SIZE)


async def book(
    world: World,
    *,
    seller: str,
    departure: Any,
    guests: list[tuple[str, str]],
    buyer: tuple[str, str, str],
    created_on: tuple[int, int],
    status: BookingStatus = BookingStatus.CONFIRMED,
) -> Booking:
    email, first_name, last_name = buyer
    month, day = created_on
    return await add_booking(
        seller=getattr(world, seller),
        departure=departure,
        guests=guests,
        buyer_email=email,
        buyer_name=(first_name, last_name),
        created_at=datetime(2026, month, day, 10, 0, tzinfo=UTC),
        status=status,
    )


@pytest.fixture
async def bookings(world: World) -> None:
    # 22:00 in Zurich on 1 August.
    august = await create_departure(
        world.activity, datetime(2026, 8, 1, 20, 0, tzinfo=UTC), time_zone="Europe/Zurich"
    )
    alder = ("anna.alder@example.com", "Anna", "Alder")
    await book(
        world,
        seller="alpine",
        departure=world.departure,
        guests=[("Anna", "Alder"), ("Ben", "Alder"), ("Cleo", "Alder")],
        buyer=alder,
        created_on=(5, 1),
    )
    await book(
        world,
        seller="alpine",
        departure=world.departure,
        guests=[("Dora", "Brunner"), ("Eli", "Brunner"), ("Fay", "Brunner")],
        buyer=("dora.alder@example.com", "Dora", "Alder"),
        created_on=(5, 15),
    )
    huber = ("hans.huber@example.com", "Hans", "Huber")
    await book(
        world,
        seller="alpine",
        departure=world.departure,
        guests=[("Gus", "Huber"), ("Hana", "Huber")],
        buyer=huber,
        created_on=(5, 20),
        status=BookingStatus.PENDING,
    )
    await book(
        world,
        seller="alpine",
        departure=world.other_departure,
        guests=[("Ivo", "Keller"), ("Jil", "Keller")],
        buyer=("ivo.alder@example.com", "Ivo", "Alder"),
        created_on=(6, 1),
        status=BookingStatus.CANCELLED,
    )
    await book(
        world,
        seller="alpine",
        departure=august,
        guests=[("Kai", "Huber")],
        buyer=huber,
        created_on=(6, 10),
    )
    await book(
        world,
        seller="lakeside",
        departure=world.departure,
        guests=[("Lia", "Meier"), ("Max", "Meier")],
        buyer=("lia.meier@example.com", "Lia", "Meier"),
        created_on=(5, 12),
    )
    await book(
        world,
        seller="lakeside",
        departure=august,
        guests=[("Nia", "Frei")],
        buyer=("nia.frei@example.com", "Nia", "Frei"),
        created_on=(6, 5),
    )
    await book(
        world,
        seller="summit",
        departure=world.departure,
        guests=[("Oli", "Graf"), ("Pia", "Graf")],
        buyer=("oli.graf@example.com", "Oli", "Graf"),
        created_on=(5, 2),
    )

    await Guest.filter(first_name__in=["Ben", "Eli", "Max"]).update(category=GuestCategory.CHILD)
    await Guest.filter(first_name__in=["Anna", "Dora", "Lia"]).update(
        checked_in_at=datetime(2026, 7, 14, 6, 30, tzinfo=UTC)
    )
    await Customer.filter(email_key__in=[alder[0], huber[0]]).update(marketing_consent=True)

    await create_user(world.alpine, Role.AGENT, email="agent2@alpine.example")
    inactive = await create_user(world.alpine, Role.AGENT, email="agent3@alpine.example")
    await User.filter(id=inactive.id).update(is_active=False)
    await create_user(world.alpine, Role.EMPLOYEE, Role.GUIDE, email="multi@alpine.example")


async def every_page(user: User, shape: ListShape, list_filter: dict[str, Any] | None) -> list[Key]:
    keys: list[Key] = []
    after = None
    while True:
        variables = {"first": PAGE_SIZE, "after": after, "filter": list_filter}
        result = await execute(user, shape.document, variables)
        assert result.errors == [], result.errors
        assert result.data is not None
        page = result.data[shape.field_name]
        keys.extend(shape.node_key(node) for node in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return keys
        after = page["pageInfo"]["endCursor"]


GUEST_CASES = [
    (None, 11),
    ({"tripDate": {"from": "2026-07-15", "to": "2026-08-01"}}, 3),
    ({"bookingDate": {"from": "2026-05-10", "to": "2026-05-31"}}, 5),
    ({"status": ["PENDING", "CANCELLED"]}, 4),
    ({"search": "huber"}, 3),
    ({"includePartners": True}, 14),
    ({"category": ["CHILD"]}, 2),
    ({"category": ["CHILD"], "includePartners": True}, 3),
    ({"checkedIn": True}, 2),
    ({"checkedIn": False}, 9),
    ({"includePartners": True, "tripDate": {"from": "2026-07-14", "to": "2026-07-14"}}, 10),
]
GUEST_CASE_IDS = [
    "all",
    "trip-date",
    "booking-date",
    "status",
    "search",
    "include-partners",
    "category",
    "category-with-partners",
    "checked-in",
    "not-checked-in",
    "one-trip-start-with-partners",
]


@pytest.mark.usefixtures("bookings")
@pytest.mark.parametrize(("list_filter", "count"), GUEST_CASES, ids=GUEST_CASE_IDS)
@pytest.mark.parametrize("role", [Role.ADMIN, Role.ACCOUNTANT], ids=["admin", "accountant"])
async def test_guest_export_matches_list(world, storage, list_filter, count, role):
    user = world.user("alpine", role)

    rows = await export_rows(user, "GUESTS", storage, list_filter)

    exported = [GUEST_LIST.row_key(row) for row in rows]
    assert exported == await every_page(user, GUEST_LIST, list_filter)
    assert len(exported) == count


CUSTOMER_CASES = [
    (None, None, 4),
    ({"marketingConsent": True}, None, 2),
    ({"marketingConsent": False}, None, 2),
    (None, {"marketingConsentOnly": True}, 2),
    ({"status": ["CANCELLED"]}, None, 1),
    ({"search": "dora"}, None, 1),
    ({"tripDate": {"from": "2026-08-01", "to": "2026-08-01"}}, None, 1),
    ({"bookingDate": {"from": "2026-05-01", "to": "2026-05-15"}}, None, 2),
]
CUSTOMER_CASE_IDS = [
    "all",
    "consent",
    "no-consent",
    "consent-only-option",
    "status",
    "search",
    "trip-date",
    "booking-date",
]


@pytest.mark.usefixtures("bookings")
@pytest.mark.parametrize(("list_filter", "options", "count"), CUSTOMER_CASES, ids=CUSTOMER_CASE_IDS)
async def test_customer_export_matches_list(world, storage, list_filter, options, count):
    user = world.user("alpine", Role.ACCOUNTANT)
    # The option keeps the customers the list shows with `marketingConsent: true`.
    list_equivalent = {"marketingConsent": True} if options else list_filter

    rows = await export_rows(user, "CUSTOMERS", storage, list_filter, options)

    exported = [CUSTOMER_LIST.row_key(row) for row in rows]
    assert exported == await every_page(user, CUSTOMER_LIST, list_equivalent)
    assert len(exported) == count


USER_CASES = [
    (None, 9),
    ({"role": ["AGENT"]}, 3),
    ({"role": ["ADMIN", "GUIDE"]}, 3),
    ({"isActive": False}, 1),
    ({"isActive": True}, 8),
    ({"search": "agent"}, 3),
    ({"role": ["AGENT"], "isActive": True}, 2),
]
USER_CASE_IDS = ["all", "role", "roles", "inactive", "active", "search", "role-and-active"]


@pytest.mark.usefixtures("bookings")
@pytest.mark.parametrize(("list_filter", "count"), USER_CASES, ids=USER_CASE_IDS)
async def test_user_export_matches_list(world, storage, list_filter, count):
    user = world.user("alpine", Role.ADMIN)

    rows = await export_rows(user, "USERS", storage, list_filter)

    exported = [USER_LIST.row_key(row) for row in rows]
    assert exported == await every_page(user, USER_LIST, list_filter)
    assert len(exported) == count


@pytest.mark.usefixtures("bookings")
async def test_progress_counts_every_row(world):
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    reports: list[tuple[int, int | None]] = []

    async def record(written: int, expected: int | None) -> None:
        reports.append((written, expected))

    written = await write_csv(viewer, GuestFilter(), ExportOptions(), io.StringIO(), record)

    assert written == 11
    assert reports[0] == (0, 11)
    assert reports[-1] == (11, 11)
    assert [count for count, _ in reports] == sorted(count for count, _ in reports)


@pytest.mark.usefixtures("bookings")
async def test_partner_guests_only_from_active_partners(world, storage):
    admin = world.user("alpine", Role.ADMIN)

    rows = await export_rows(admin, "GUESTS", storage, {"includePartners": True})

    assert {row["seller"] for row in rows} == {"Alpine", "Lakeside"}
    assert [row["guest_last_name"] for row in rows if row["seller"] == "Lakeside"] == [
        "Meier",
        "Meier",
        "Frei",
    ]


@pytest.mark.usefixtures("bookings")
async def test_partner_guests_hide_buyer(world, storage):
    admin = world.user("alpine", Role.ADMIN)

    rows = await export_rows(admin, "GUESTS", storage, {"includePartners": True})

    partner_rows = [row for row in rows if row["seller"] == "Lakeside"]
    own_rows = [row for row in rows if row["seller"] == "Alpine"]
    buyer_columns = ("buyer_first_name", "buyer_last_name", "buyer_email")
    assert {row[column] for row in partner_rows for column in buyer_columns} == {""}
    assert all(row[column] for row in own_rows for column in buyer_columns)
    assert {row["buyer_email"] for row in own_rows} == {
        "anna.alder@example.com",
        "dora.alder@example.com",
        "hans.huber@example.com",
        "ivo.alder@example.com",
    }


@pytest.mark.usefixtures("bookings")
async def test_partner_exports_own_guests_with_buyer(world, storage):
    partner_admin = world.user("lakeside", Role.ADMIN)

    rows = await export_rows(partner_admin, "GUESTS", storage)

    assert [(row["guest_first_name"], row["buyer_email"]) for row in rows] == [
        ("Lia", "lia.meier@example.com"),
        ("Max", "lia.meier@example.com"),
        ("Nia", "nia.frei@example.com"),
    ]


@pytest.mark.usefixtures("bookings")
@pytest.mark.parametrize("include_partners", [False, True], ids=["own", "with-partners"])
async def test_guest_export_by_departure_matches_list(world, storage, include_partners):
    user = world.user("alpine", Role.EMPLOYEE)
    list_filter = {
        "departure": to_global_id("Departure", world.departure.id),
        "includePartners": include_partners,
    }

    rows = await export_rows(user, "GUESTS", storage, list_filter)

    exported = [GUEST_LIST.row_key(row) for row in rows]
    assert exported == await every_page(user, GUEST_LIST, list_filter)
    assert len(exported) == (10 if include_partners else 8)
