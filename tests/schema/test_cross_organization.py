"""Tenancy: nothing crosses organizations except through an ACTIVE partner connection.

Alpine supplies the departure. Its partners are Lakeside (ACTIVE), Summit (REVOKED) and Valley
(PENDING). Each of the four organizations sold one booking on the departure. The factories write
these bookings directly, as if Summit and Valley had sold theirs while their connections were
ACTIVE. Alpine runs the trip, so with `includePartners` it sees Lakeside's guests, but never
Lakeside's buyers, totals or customers.
"""

from dataclasses import dataclass, field
from typing import Any

import pytest
from tortoise import Tortoise

from models.bookings import Booking, Guest
from models.enums import BookingChannel, PartnerConnectionStatus, Role
from models.organizations import PartnerConnection
from models.users import User
from schema.relay import from_global_id, to_global_id
from tests.factories import World, add_booking, create_organization, create_user
from tests.helpers import Result, execute

BOOKINGS = """
query Bookings($filter: BookingFilterInput) {
  bookings(first: 100, filter: $filter) { nodes { id } }
}
"""

GUESTS = """
query Guests($filter: GuestFilterInput) {
  guests(first: 100, filter: $filter) { nodes { id } }
}
"""

BOOKINGS_WITH_BUYERS = """
query Bookings($filter: BookingFilterInput) {
  bookings(first: 100, filter: $filter) {
    nodes { id seller { slug } buyer { email } total { amount } guests { lastName } }
  }
}
"""

GUESTS_WITH_BOOKINGS = """
query Guests($filter: GuestFilterInput) {
  guests(first: 100, filter: $filter) {
    nodes { id booking { id buyer { email } total { amount } } }
  }
}
"""

CUSTOMERS = """
query Customers($filter: CustomerFilterInput) {
  customers(first: 100, filter: $filter) { nodes { id } }
}
"""

MANIFEST = """
query Manifest($filter: DepartureFilterInput) {
  departures(first: 100, filter: $filter) { nodes { id guests { id } } }
}
"""

NODE = "query Node($id: ID!) { node(id: $id) { id } }"

BOOKING_NODE = """
query Node($id: ID!) {
  node(id: $id) { id ... on Booking { buyer { email } total { amount } guests { id } } }
}
"""

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { field code message } }
}
"""

CANCEL_BOOKING = """
mutation CancelBooking($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id } errors { field code message } }
}
"""

UPDATE_GUEST = """
mutation UpdateGuest($input: UpdateGuestInput!) {
  updateGuest(input: $input) { guest { id } errors { field code message } }
}
"""

UPDATE_USER_ROLES = """
mutation UpdateUserRoles($input: UpdateUserRolesInput!) {
  updateUserRoles(input: $input) { user { id } errors { field code message } }
}
"""

DEACTIVATE_USER = """
mutation DeactivateUser($input: DeactivateUserInput!) {
  deactivateUser(input: $input) { user { id } errors { field code message } }
}
"""

ORGANIZATIONS = ("alpine", "lakeside", "summit")


@dataclass
class Scene:
    world: World
    admins: dict[str, User]
    employees: dict[str, User]
    bookings: dict[str, Booking]
    guests: dict[str, Guest]
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, global_id: str) -> str:
        return self.labels.get(global_id, f"unlabelled {global_id}")

    def id_of(self, label: str) -> str:
        return next(global_id for global_id, name in self.labels.items() if name == label)

    def labels_of(self, rows: list[dict[str, Any]]) -> set[str]:
        return {self.label(row["id"]) for row in rows}


@pytest.fixture
async def scene(world: World) -> Scene:
    valley = await create_organization("valley")
    await PartnerConnection.create(
        supplier_id=world.alpine.id,
        partner_id=valley.id,
        status=PartnerConnectionStatus.PENDING,
    )
    organizations = {
        "alpine": world.alpine,
        "lakeside": world.lakeside,
        "summit": world.summit,
        "valley": valley,
    }
    admins = {slug: world.user(slug, Role.ADMIN) for slug in ORGANIZATIONS}
    admins["valley"] = await create_user(valley, Role.ADMIN)
    employees = {slug: world.user(slug, Role.EMPLOYEE) for slug in ORGANIZATIONS}
    employees["valley"] = await create_user(valley, Role.EMPLOYEE)

    bookings: dict[str, Booking] = {}
    guests: dict[str, Guest] = {}
    for slug, organization in organizations.items():
        bookings[slug] = await add_booking(
            seller=organization,
            departure=world.departure,
            created_by=employees[slug],
            buyer_email=f"{slug}.buyer@buyers.example",
            buyer_name=("Buyer", f"{slug.title()}buyer"),
            guests=[("Guest", f"{slug.title()}guest")],
        )
        guests[slug] = await Guest.get(booking_id=bookings[slug].id)

    labels: dict[str, str] = {
        to_global_id("Departure", world.departure.id): "departure",
        to_global_id("Departure", world.other_departure.id): "other departure",
        to_global_id("Activity", world.activity.id): "activity",
        to_global_id("CustomField", world.fields["weight_kg"].id): "custom field",
    }
    for slug, organization in organizations.items():
        labels[to_global_id("Organization", organization.id)] = f"{slug} organization"
        labels[to_global_id("Booking", bookings[slug].id)] = f"{slug} booking"
        labels[to_global_id("Guest", guests[slug].id)] = f"{slug} guest"
        labels[to_global_id("Customer", bookings[slug].customer_id)] = f"{slug} customer"
        labels[to_global_id("User", employees[slug].id)] = f"{slug} user"
    return Scene(world, admins, employees, bookings, guests, labels)


async def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Return every row of every table, to prove that a request wrote nothing."""
    tables = {}
    for name, model in Tortoise.apps["models"].items():
        tables[name] = await model.all().order_by("id").values()
    return tables


def codes_or_data(result: Result) -> str:
    return ",".join(result.codes) or "data"


LIST_CASES = [
    ("bookings", BOOKINGS, False, {"alpine booking"}),
    ("bookings", BOOKINGS, True, {"alpine booking", "lakeside booking"}),
    ("guests", GUESTS, False, {"alpine guest"}),
    ("guests", GUESTS, True, {"alpine guest", "lakeside guest"}),
]


@pytest.mark.parametrize(
    ("list_name", "document", "include_partners", "expected"),
    LIST_CASES,
    ids=[f"{name}-include_partners={flag}" for name, _, flag, _ in LIST_CASES],
)
async def test_supplier_lists_active_partner_rows_on_request(
    scene, list_name, document, include_partners, expected
):
    variables = {"filter": {"includePartners": include_partners}}

    result = await execute(scene.admins["alpine"], document, variables)

    assert result.errors == []
    assert result.data is not None
    assert scene.labels_of(result.data[list_name]["nodes"]) == expected


async def test_supplier_sees_partner_booking_without_buyer_or_total(scene):
    variables = {"filter": {"includePartners": True}}

    result = await execute(scene.admins["alpine"], BOOKINGS_WITH_BUYERS, variables)

    assert result.errors == []
    assert result.data is not None
    rows = {scene.label(row["id"]): row for row in result.data["bookings"]["nodes"]}
    assert rows["lakeside booking"]["seller"] == {"slug": "lakeside"}
    assert rows["lakeside booking"]["buyer"] is None
    assert rows["lakeside booking"]["total"] is None
    assert rows["lakeside booking"]["guests"] == [{"lastName": "Lakesideguest"}]
    assert rows["alpine booking"]["buyer"] == {"email": "alpine.buyer@buyers.example"}


async def test_partner_guest_booking_has_no_buyer_or_total(scene):
    variables = {"filter": {"includePartners": True}}

    result = await execute(scene.admins["alpine"], GUESTS_WITH_BOOKINGS, variables)

    assert result.errors == []
    assert result.data is not None
    rows = {scene.label(row["id"]): row for row in result.data["guests"]["nodes"]}
    assert rows["lakeside guest"]["booking"] == {
        "id": scene.id_of("lakeside booking"),
        "buyer": None,
        "total": None,
    }


async def test_partner_booking_node_has_no_buyer_or_total(scene):
    booking_id = scene.id_of("lakeside booking")

    result = await execute(scene.admins["alpine"], BOOKING_NODE, {"id": booking_id})

    assert result.errors == []
    assert result.data == {
        "node": {
            "id": booking_id,
            "buyer": None,
            "total": None,
            "guests": [{"id": scene.id_of("lakeside guest")}],
        }
    }


BOOKED_BY_ALPINE_AND_LAKESIDE = {"alpine guest", "lakeside guest"}
# (organization, role, departures filter, guests of each departure listed)
MANIFEST_CASES = [
    (
        "alpine",
        Role.ADMIN,
        {},
        {"departure": BOOKED_BY_ALPINE_AND_LAKESIDE, "other departure": set()},
    ),
    ("alpine", Role.GUIDE, {}, {"departure": BOOKED_BY_ALPINE_AND_LAKESIDE}),
    (
        "lakeside",
        Role.ADMIN,
        {"includeSuppliers": True},
        {"departure": {"lakeside guest"}, "other departure": set()},
    ),
]


@pytest.mark.parametrize(
    ("slug", "role", "departure_filter", "expected"),
    MANIFEST_CASES,
    ids=[f"{slug}-{role.value}" for slug, role, _, _ in MANIFEST_CASES],
)
async def test_manifest_shows_own_and_active_partner_guests(
    scene, slug, role, departure_filter, expected
):
    result = await execute(scene.world.user(slug, role), MANIFEST, {"filter": departure_filter})

    assert result.errors == []
    assert result.data is not None
    manifest = {
        scene.label(row["id"]): scene.labels_of(row["guests"])
        for row in result.data["departures"]["nodes"]
    }
    assert manifest == expected


async def test_revoked_partner_sees_no_supplier_departure(scene):
    variables = {"filter": {"includeSuppliers": True}}

    result = await execute(scene.admins["summit"], MANIFEST, variables)

    assert result.errors == []
    assert result.data == {"departures": {"nodes": []}}


@pytest.mark.parametrize("slug", ORGANIZATIONS)
async def test_customers_are_only_the_organization_own(scene, slug):
    result = await execute(scene.admins[slug], CUSTOMERS)

    assert result.errors == []
    assert result.data is not None
    assert scene.labels_of(result.data["customers"]["nodes"]) == {f"{slug} customer"}


async def test_customer_search_finds_no_partner_buyer(scene):
    variables = {"filter": {"search": "lakeside.buyer@buyers.example"}}

    result = await execute(scene.admins["alpine"], CUSTOMERS, variables)

    assert result.errors == []
    assert result.data == {"customers": {"nodes": []}}


# (viewer's organization, object of another organization it may not see)
HIDDEN_NODE_CASES = [
    ("alpine", "summit booking"),
    ("alpine", "summit guest"),
    ("alpine", "lakeside customer"),
    ("alpine", "summit customer"),
    ("alpine", "lakeside user"),
    ("lakeside", "alpine booking"),
    ("lakeside", "alpine guest"),
    ("lakeside", "alpine customer"),
    ("lakeside", "alpine user"),
    ("lakeside", "summit booking"),
    ("summit", "alpine booking"),
    ("summit", "lakeside guest"),
    ("summit", "alpine customer"),
    ("summit", "alpine user"),
    ("summit", "departure"),
    ("summit", "activity"),
    ("lakeside", "custom field"),
    ("alpine", "summit organization"),
    ("alpine", "valley organization"),
    ("lakeside", "summit organization"),
    ("valley", "alpine booking"),
    ("valley", "departure"),
]


def without_id(result: Result, global_id: str) -> list[dict[str, Any]]:
    return [
        {**error, "message": error["message"].replace(global_id, "<id>")} for error in result.errors
    ]


@pytest.mark.parametrize(
    ("slug", "label"),
    HIDDEN_NODE_CASES,
    ids=[f"{slug}-{label}" for slug, label in HIDDEN_NODE_CASES],
)
async def test_node_of_other_organization_is_like_missing(scene, slug, label):
    hidden_id = scene.id_of(label)
    type_name, _ = from_global_id(hidden_id)
    missing_id = to_global_id(type_name, 999_999)

    hidden = await execute(scene.admins[slug], NODE, {"id": hidden_id})
    missing = await execute(scene.admins[slug], NODE, {"id": missing_id})

    assert hidden.codes == ["NOT_FOUND"]
    assert hidden.data is None
    assert without_id(hidden, hidden_id) == without_id(missing, missing_id)


def booking_input(scene: Scene) -> dict[str, Any]:
    return {
        "departure": scene.id_of("departure"),
        "buyer": {"firstName": "Pia", "lastName": "Partner", "email": "pia@buyers.example"},
        "guests": [
            {
                "firstName": "Pia",
                "lastName": "Partner",
                "answers": [{"key": "weight_kg", "value": "58"}],
            }
        ],
        "totalAmount": "180.00",
    }


BOOK_SUPPLIER_CASES = [("lakeside", "data"), ("summit", "NOT_FOUND"), ("valley", "NOT_FOUND")]


@pytest.mark.parametrize(
    ("slug", "expected"), BOOK_SUPPLIER_CASES, ids=[slug for slug, _ in BOOK_SUPPLIER_CASES]
)
async def test_only_active_partner_books_supplier_departure(scene, slug, expected):
    variables = {"input": booking_input(scene)}

    result = await execute(scene.employees[slug], CREATE_BOOKING, variables)

    assert codes_or_data(result) == expected
    written = await Booking.filter(customer__email_key="pia@buyers.example").count()
    assert written == (1 if expected == "data" else 0)


async def test_partner_booking_belongs_to_the_partner(scene):
    variables = {"input": booking_input(scene)}

    result = await execute(scene.employees["lakeside"], CREATE_BOOKING, variables)

    assert result.data is not None
    assert result.data["createBooking"]["errors"] == []
    booking = await Booking.get(customer__email_key="pia@buyers.example").select_related("customer")
    assert booking.seller_id == scene.world.lakeside.id
    assert booking.customer.organization_id == scene.world.lakeside.id
    assert booking.channel is BookingChannel.PARTNER


@pytest.mark.parametrize(
    "search",
    ["lakeside.buyer@buyers.example", "Lakesidebuyer"],
    ids=["email", "last-name"],
)
async def test_search_does_not_match_partner_buyer(scene, search):
    variables = {"filter": {"includePartners": True, "search": search}}

    result = await execute(scene.admins["alpine"], BOOKINGS, variables)

    assert result.errors == []
    assert result.data == {"bookings": {"nodes": []}}


@pytest.mark.parametrize(
    ("list_name", "document", "expected"),
    [("bookings", BOOKINGS, "lakeside booking"), ("guests", GUESTS, "lakeside guest")],
    ids=["bookings", "guests"],
)
async def test_search_matches_partner_guest_with_buyer_email(scene, list_name, document, expected):
    email = "lakeside.buyer@buyers.example"
    await Guest.filter(id=scene.guests["lakeside"].id).update(email=email)
    variables = {"filter": {"includePartners": True, "search": email}}

    result = await execute(scene.admins["alpine"], document, variables)

    assert result.errors == []
    assert result.data is not None
    assert scene.labels_of(result.data[list_name]["nodes"]) == {expected}


# (viewer's organization, mutation, its input): each targets another organization's object.
FOREIGN_MUTATION_CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("alpine", "cancelBooking", CANCEL_BOOKING, {"id": "lakeside booking"}),
    ("alpine", "cancelBooking", CANCEL_BOOKING, {"id": "summit booking"}),
    ("alpine", "updateGuest", UPDATE_GUEST, {"id": "lakeside guest", "checkedIn": True}),
    ("alpine", "updateGuest", UPDATE_GUEST, {"id": "summit guest", "lastName": "Renamed"}),
    ("alpine", "updateUserRoles", UPDATE_USER_ROLES, {"id": "lakeside user", "roles": ["GUIDE"]}),
    ("alpine", "deactivateUser", DEACTIVATE_USER, {"id": "lakeside user"}),
    ("lakeside", "cancelBooking", CANCEL_BOOKING, {"id": "alpine booking"}),
    ("lakeside", "updateGuest", UPDATE_GUEST, {"id": "alpine guest", "lastName": "Renamed"}),
    ("lakeside", "updateUserRoles", UPDATE_USER_ROLES, {"id": "alpine user", "roles": ["ADMIN"]}),
    ("lakeside", "deactivateUser", DEACTIVATE_USER, {"id": "alpine user"}),
    ("summit", "cancelBooking", CANCEL_BOOKING, {"id": "alpine booking"}),
    ("summit", "updateGuest", UPDATE_GUEST, {"id": "lakeside guest", "lastName": "Renamed"}),
]


@pytest.mark.parametrize(
    ("slug", "mutation_name", "document", "changes"),
    FOREIGN_MUTATION_CASES,
    ids=[f"{slug}-{name}-{changes['id']}" for slug, name, _, changes in FOREIGN_MUTATION_CASES],
)
async def test_mutation_on_other_organization_is_not_found(
    scene, slug, mutation_name, document, changes
):
    before = await snapshot()
    variables = {"input": {**changes, "id": scene.id_of(changes["id"])}}

    result = await execute(scene.admins[slug], document, variables)

    assert result.codes == ["NOT_FOUND"]
    assert result.data is None
    assert await snapshot() == before


SUPPLIER_QUESTIONS = """
query {
  departures(first: 1, filter: {includeSuppliers: true}) {
    nodes { activity { name customFields { key required } } }
  }
}
"""


async def test_partner_reads_supplier_questions_through_activity(world):
    result = await execute(world.user("lakeside", Role.ADMIN), SUPPLIER_QUESTIONS)

    assert result.errors == []
    assert result.data is not None
    questions = result.data["departures"]["nodes"][0]["activity"]["customFields"]
    assert {"key": "weight_kg", "required": True} in questions
