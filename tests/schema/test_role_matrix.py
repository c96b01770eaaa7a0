"""Every role against every query and mutation: what each role reads and changes.

Alpine has one user per role, a user with no role and a colleague for the admin to manage. It
has three bookings. The agent's own booking and an employee's office booking are on the unguided
departure. An employee's guided booking is on the departure that the guide guides. Every object
gets a label, so the expected outcome of each case reads like the role matrix.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from models.bookings import Booking, Guest
from models.commands.auth import sign_in
from models.enums import BookingStatus, Role
from models.users import User, UserRole
from schema.relay import to_global_id
from tests.factories import PASSWORD, World, add_booking, create_user
from tests.helpers import Result, execute

BOOKINGS = "query { bookings(first: 100) { nodes { id } } }"
GUESTS = "query { guests(first: 100) { nodes { id } } }"
CUSTOMERS = "query { customers(first: 100) { nodes { id } } }"
USERS = "query { users(first: 100) { nodes { id } } }"
DEPARTURES = "query { departures(first: 100) { nodes { id } } }"
ACTIVITIES = "query { activities { id } }"
CUSTOM_FIELDS = "query { customFields { id } }"
VIEWER = "query { viewer { id } }"
NODE = "query Node($id: ID!) { node(id: $id) { id } }"

BOOKING_AMOUNTS = """
query {
  bookings(first: 100) { nodes { id buyer { email } total { amount currency } } }
}
"""

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { field code message } }
}
"""

CANCEL_BOOKING = """
mutation CancelBooking($input: CancelBookingInput!) {
  cancelBooking(input: $input) { booking { id status } errors { field code message } }
}
"""

UPDATE_GUEST = """
mutation UpdateGuest($input: UpdateGuestInput!) {
  updateGuest(input: $input) { guest { id lastName } errors { field code message } }
}
"""

CREATE_USER = """
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) { user { id } errors { field code message } }
}
"""

UPDATE_USER_ROLES = """
mutation UpdateUserRoles($input: UpdateUserRolesInput!) {
  updateUserRoles(input: $input) { user { id roles } errors { field code message } }
}
"""

DEACTIVATE_USER = """
mutation DeactivateUser($input: DeactivateUserInput!) {
  deactivateUser(input: $input) { user { id isActive } errors { field code message } }
}
"""

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { token errors { field code message } }
}
"""

LOGOUT = "mutation { logout { revoked } }"

ACTORS = ("ADMIN", "EMPLOYEE", "AGENT", "ACCOUNTANT", "EDITOR", "GUIDE", "NO_ROLE")
FORBIDDEN = "FORBIDDEN"
DONE = "done"

EVERY_BOOKING = {"own booking", "guided booking", "office booking"}
EVERY_GUEST = {"own guest", "guided guest", "office guest"}
EVERY_CUSTOMER = {"own customer", "guided customer", "office customer"}
EVERY_USER = {f"{actor} user" for actor in ACTORS} | {"colleague"}
EVERY_DEPARTURE = {"guided departure", "unguided departure"}
EVERY_CUSTOM_FIELD = {"hotel_pickup", "weight_kg", "dietary_needs"}

# What each list returns to each actor: the labels of the rows, or the error code.
LISTS: dict[str, tuple[str, dict[str, set[str] | str]]] = {
    "bookings": (
        BOOKINGS,
        {
            "ADMIN": EVERY_BOOKING,
            "EMPLOYEE": EVERY_BOOKING,
            "AGENT": {"own booking"},
            "ACCOUNTANT": EVERY_BOOKING,
            "EDITOR": FORBIDDEN,
            "GUIDE": {"guided booking"},
            "NO_ROLE": FORBIDDEN,
        },
    ),
    "guests": (
        GUESTS,
        {
            "ADMIN": EVERY_GUEST,
            "EMPLOYEE": EVERY_GUEST,
            "AGENT": {"own guest"},
            "ACCOUNTANT": EVERY_GUEST,
            "EDITOR": FORBIDDEN,
            "GUIDE": {"guided guest"},
            "NO_ROLE": FORBIDDEN,
        },
    ),
    "customers": (
        CUSTOMERS,
        {
            "ADMIN": EVERY_CUSTOMER,
            "EMPLOYEE": EVERY_CUSTOMER,
            "AGENT": {"own customer"},
            "ACCOUNTANT": EVERY_CUSTOMER,
            "EDITOR": FORBIDDEN,
            "GUIDE": FORBIDDEN,
            "NO_ROLE": FORBIDDEN,
        },
    ),
    "users": (
        USERS,
        {
            "ADMIN": EVERY_USER,
            "EMPLOYEE": FORBIDDEN,
            "AGENT": FORBIDDEN,
            "ACCOUNTANT": FORBIDDEN,
            "EDITOR": FORBIDDEN,
            "GUIDE": FORBIDDEN,
            "NO_ROLE": FORBIDDEN,
        },
    ),
    # Departures carry the seats taken and the guest manifest, so they follow the bookings.
    "departures": (
        DEPARTURES,
        {
            "ADMIN": EVERY_DEPARTURE,
            "EMPLOYEE": EVERY_DEPARTURE,
            "AGENT": EVERY_DEPARTURE,
            "ACCOUNTANT": EVERY_DEPARTURE,
            "EDITOR": FORBIDDEN,
            "GUIDE": {"guided departure"},
            "NO_ROLE": FORBIDDEN,
        },
    ),
    "activities": (
        ACTIVITIES,
        {
            "ADMIN": {"activity"},
            "EMPLOYEE": {"activity"},
            "AGENT": {"activity"},
            "ACCOUNTANT": {"activity"},
            "EDITOR": {"activity"},
            "GUIDE": {"activity"},
            "NO_ROLE": FORBIDDEN,
        },
    ),
    "customFields": (
        CUSTOM_FIELDS,
        {
            "ADMIN": EVERY_CUSTOM_FIELD,
            "EMPLOYEE": EVERY_CUSTOM_FIELD,
            "AGENT": EVERY_CUSTOM_FIELD,
            "ACCOUNTANT": EVERY_CUSTOM_FIELD,
            "EDITOR": EVERY_CUSTOM_FIELD,
            "GUIDE": EVERY_CUSTOM_FIELD,
            "NO_ROLE": FORBIDDEN,
        },
    ),
}

LIST_CASES = [
    (name, actor, expected)
    for name, (_, by_actor) in LISTS.items()
    for actor, expected in by_actor.items()
]


@dataclass
class Scene:
    world: World
    actors: dict[str, User]
    colleague: User
    bookings: dict[str, Booking]
    guests: dict[str, Guest]
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, global_id: str) -> str:
        return self.labels.get(global_id, f"unlabelled {global_id}")

    def id_of(self, label: str) -> str:
        return next(global_id for global_id, name in self.labels.items() if name == label)


@pytest.fixture
async def scene(world: World) -> Scene:
    actors = {role.value: world.user("alpine", role) for role in Role}
    actors["NO_ROLE"] = await create_user(world.alpine)
    colleague = await create_user(world.alpine, Role.EMPLOYEE, email="colleague@alpine.example")

    employee = actors["EMPLOYEE"]
    placements = {
        "own": (world.other_departure, actors["AGENT"]),
        "guided": (world.departure, employee),
        "office": (world.other_departure, employee),
    }
    bookings: dict[str, Booking] = {}
    guests: dict[str, Guest] = {}
    for name, (departure, created_by) in placements.items():
        bookings[name] = await add_booking(
            seller=world.alpine,
            departure=departure,
            created_by=created_by,
            buyer_email=f"{name}@buyers.example",
            buyer_name=("Buyer", name.title()),
            guests=[("Guest", name.title())],
        )
        guests[name] = await Guest.get(booking_id=bookings[name].id)

    labels: dict[str, str] = {
        to_global_id("Activity", world.activity.id): "activity",
        to_global_id("Departure", world.departure.id): "guided departure",
        to_global_id("Departure", world.other_departure.id): "unguided departure",
        to_global_id("Organization", world.alpine.id): "organization",
        to_global_id("User", colleague.id): "colleague",
    }
    for key, custom_field in world.fields.items():
        labels[to_global_id("CustomField", custom_field.id)] = key
    for actor, user in actors.items():
        labels[to_global_id("User", user.id)] = f"{actor} user"
    for name, booking in bookings.items():
        labels[to_global_id("Booking", booking.id)] = f"{name} booking"
        labels[to_global_id("Guest", guests[name].id)] = f"{name} guest"
        labels[to_global_id("Customer", booking.customer_id)] = f"{name} customer"

    return Scene(world, actors, colleague, bookings, guests, labels)


def row_labels(scene: Scene, result: Result, list_name: str) -> set[str] | str:
    if result.errors:
        return ",".join(result.codes)
    assert result.data is not None
    value = result.data[list_name]
    rows = value if isinstance(value, list) else value["nodes"]
    return {scene.label(row["id"]) for row in rows}


def mutation_outcome(result: Result, mutation_name: str) -> str:
    """Return DONE, the code of the GraphQL error, or the codes of the payload's user errors."""
    if result.errors:
        return ",".join(result.codes)
    assert result.data is not None
    payload = result.data[mutation_name]
    if payload.get("errors"):
        return ",".join(error["code"] for error in payload["errors"])
    return DONE


@pytest.mark.parametrize(
    ("list_name", "actor", "expected"),
    LIST_CASES,
    ids=[f"{name}-{actor}" for name, actor, _ in LIST_CASES],
)
async def test_list_by_role(scene, list_name, actor, expected):
    document, _ = LISTS[list_name]

    result = await execute(scene.actors[actor], document)

    assert row_labels(scene, result, list_name) == expected


@pytest.mark.parametrize("actor", ACTORS)
async def test_viewer_is_the_signed_in_user(scene, actor):
    result = await execute(scene.actors[actor], VIEWER)

    assert result.errors == []
    assert result.data == {"viewer": {"id": scene.id_of(f"{actor} user")}}


@pytest.mark.parametrize("actor", ACTORS)
async def test_node_returns_what_lists_show(scene, actor):
    # Besides the rows of its lists, everyone may fetch its own account and organization.
    visible = {f"{actor} user", "organization"}
    for _, by_actor in LISTS.values():
        expected = by_actor[actor]
        if isinstance(expected, set):
            visible |= expected

    outcomes = {}
    for global_id, label in scene.labels.items():
        result = await execute(scene.actors[actor], NODE, {"id": global_id})
        outcomes[label] = ",".join(result.codes) or DONE

    assert outcomes == {
        label: DONE if label in visible else "NOT_FOUND" for label in scene.labels.values()
    }


MANIFEST = "query { departures(first: 100) { nodes { id guests { id } } } }"

EVERY_MANIFEST = {
    "guided departure": {"guided guest"},
    "unguided departure": {"own guest", "office guest"},
}
MANIFEST_CASES = [
    ("ADMIN", EVERY_MANIFEST),
    ("EMPLOYEE", EVERY_MANIFEST),
    ("AGENT", {"guided departure": set(), "unguided departure": {"own guest"}}),
    ("ACCOUNTANT", EVERY_MANIFEST),
    ("GUIDE", {"guided departure": {"guided guest"}}),
]


@pytest.mark.parametrize(
    ("actor", "expected"), MANIFEST_CASES, ids=[actor for actor, _ in MANIFEST_CASES]
)
async def test_manifest_by_role(scene, actor, expected):
    result = await execute(scene.actors[actor], MANIFEST)

    assert result.errors == []
    assert result.data is not None
    manifest = {
        scene.label(row["id"]): {scene.label(guest["id"]) for guest in row["guests"]}
        for row in result.data["departures"]["nodes"]
    }
    assert manifest == expected


AMOUNT_CASES = [
    ("ADMIN", EVERY_BOOKING),
    ("EMPLOYEE", EVERY_BOOKING),
    ("AGENT", {"own booking"}),
    ("ACCOUNTANT", EVERY_BOOKING),
]


@pytest.mark.parametrize(
    ("actor", "expected"), AMOUNT_CASES, ids=[actor for actor, _ in AMOUNT_CASES]
)
async def test_buyer_and_total_by_role(scene, actor, expected):
    result = await execute(scene.actors[actor], BOOKING_AMOUNTS)

    assert result.errors == []
    assert result.data is not None
    rows = result.data["bookings"]["nodes"]
    assert {scene.label(row["id"]) for row in rows} == expected
    assert {row["buyer"]["email"] for row in rows} == {
        f"{label.split()[0]}@buyers.example" for label in expected
    }
    assert {row["total"]["amount"] for row in rows} == {"100.00"}


async def test_guide_gets_forbidden_on_buyer_and_total(scene):
    result = await execute(scene.actors["GUIDE"], BOOKING_AMOUNTS)

    assert result.codes == [FORBIDDEN, FORBIDDEN]
    assert sorted(error["path"][-1] for error in result.errors) == ["buyer", "total"]
    assert result.data == {
        "bookings": {"nodes": [{"id": scene.id_of("guided booking"), "buyer": None, "total": None}]}
    }


def booking_input(scene: Scene) -> dict[str, Any]:
    return {
        "departure": scene.id_of("guided departure"),
        "buyer": {"firstName": "Ada", "lastName": "New", "email": "ada@buyers.example"},
        "guests": [
            {
                "firstName": "Ada",
                "lastName": "New",
                "answers": [{"key": "weight_kg", "value": "64"}],
            }
        ],
        "totalAmount": "150.00",
    }


CREATE_BOOKING_CASES = [
    ("ADMIN", DONE),
    ("EMPLOYEE", DONE),
    ("AGENT", DONE),
    ("ACCOUNTANT", FORBIDDEN),
    ("EDITOR", FORBIDDEN),
    ("GUIDE", FORBIDDEN),
    ("NO_ROLE", FORBIDDEN),
]


@pytest.mark.parametrize(
    ("actor", "expected"), CREATE_BOOKING_CASES, ids=[actor for actor, _ in CREATE_BOOKING_CASES]
)
async def test_create_booking_by_role(scene, actor, expected):
    result = await execute(scene.actors[actor], CREATE_BOOKING, {"input": booking_input(scene)})

    assert mutation_outcome(result, "createBooking") == expected
    created = await Booking.filter(customer__email_key="ada@buyers.example").count()
    assert created == (1 if expected == DONE else 0)


async def test_agent_reads_the_booking_it_created(scene):
    agent = scene.actors["AGENT"]
    created = await execute(agent, CREATE_BOOKING, {"input": booking_input(scene)})
    assert created.data is not None
    new_id = created.data["createBooking"]["booking"]["id"]

    result = await execute(agent, BOOKINGS)

    assert result.data is not None
    listed = {row["id"] for row in result.data["bookings"]["nodes"]}
    assert listed == {scene.id_of("own booking"), new_id}


# (actor, booking or guest it targets, outcome). Writing needs WRITE_BOOKINGS. An agent may
# change only bookings it created, and any other booking is NOT_FOUND as if it did not exist.
WRITE_CASES = [
    ("ADMIN", "office", DONE),
    ("EMPLOYEE", "office", DONE),
    ("AGENT", "own", DONE),
    ("AGENT", "office", "NOT_FOUND"),
    ("ACCOUNTANT", "office", FORBIDDEN),
    ("EDITOR", "office", FORBIDDEN),
    ("GUIDE", "guided", FORBIDDEN),
    ("NO_ROLE", "office", FORBIDDEN),
]
WRITE_IDS = [f"{actor}-{target}" for actor, target, _ in WRITE_CASES]


@pytest.mark.parametrize(("actor", "target", "expected"), WRITE_CASES, ids=WRITE_IDS)
async def test_cancel_booking_by_role(scene, actor, target, expected):
    booking = scene.bookings[target]

    result = await execute(
        scene.actors[actor],
        CANCEL_BOOKING,
        {"input": {"id": scene.id_of(f"{target} booking")}},
    )

    assert mutation_outcome(result, "cancelBooking") == expected
    await booking.refresh_from_db()
    expected_status = BookingStatus.CANCELLED if expected == DONE else BookingStatus.CONFIRMED
    assert booking.status is expected_status


@pytest.mark.parametrize(("actor", "target", "expected"), WRITE_CASES, ids=WRITE_IDS)
async def test_update_guest_by_role(scene, actor, target, expected):
    guest = scene.guests[target]

    result = await execute(
        scene.actors[actor],
        UPDATE_GUEST,
        {"input": {"id": scene.id_of(f"{target} guest"), "lastName": "Renamed"}},
    )

    assert mutation_outcome(result, "updateGuest") == expected
    await guest.refresh_from_db()
    assert guest.last_name == ("Renamed" if expected == DONE else target.title())


NEW_USER = {
    "email": "new@alpine.example",
    "firstName": "New",
    "lastName": "Hire",
    "password": "a long enough password",
    "roles": ["ADMIN"],
}
ADMIN_ONLY_CASES = [("ADMIN", DONE)] + [(actor, FORBIDDEN) for actor in ACTORS[1:]]
ADMIN_ONLY_IDS = [actor for actor, _ in ADMIN_ONLY_CASES]


@pytest.mark.parametrize(("actor", "expected"), ADMIN_ONLY_CASES, ids=ADMIN_ONLY_IDS)
async def test_create_user_by_role(scene, actor, expected):
    result = await execute(scene.actors[actor], CREATE_USER, {"input": NEW_USER})

    assert mutation_outcome(result, "createUser") == expected
    assert await User.exists(email="new@alpine.example") is (expected == DONE)


@pytest.mark.parametrize(("actor", "expected"), ADMIN_ONLY_CASES, ids=ADMIN_ONLY_IDS)
async def test_update_user_roles_by_role(scene, actor, expected):
    change = {"id": scene.id_of("colleague"), "roles": ["GUIDE"]}

    result = await execute(scene.actors[actor], UPDATE_USER_ROLES, {"input": change})

    assert mutation_outcome(result, "updateUserRoles") == expected
    roles = {row.role for row in await UserRole.filter(user_id=scene.colleague.id)}
    assert roles == ({Role.GUIDE} if expected == DONE else {Role.EMPLOYEE})


@pytest.mark.parametrize(("actor", "expected"), ADMIN_ONLY_CASES, ids=ADMIN_ONLY_IDS)
async def test_deactivate_user_by_role(scene, actor, expected):
    result = await execute(
        scene.actors[actor], DEACTIVATE_USER, {"input": {"id": scene.id_of("colleague")}}
    )

    assert mutation_outcome(result, "deactivateUser") == expected
    await scene.colleague.refresh_from_db()
    assert scene.colleague.is_active is (expected != DONE)


@pytest.mark.parametrize("actor", ACTORS)
async def test_login_by_role(scene, actor):
    credentials = {"email": scene.actors[actor].email, "password": PASSWORD}

    result = await execute(None, LOGIN, {"input": credentials})

    assert mutation_outcome(result, "login") == DONE
    assert result.data is not None
    assert result.data["login"]["token"]


@pytest.mark.parametrize("actor", ACTORS)
async def test_logout_by_role(scene, actor):
    user = scene.actors[actor]
    signed_in = await sign_in(user.email, PASSWORD, token_ttl=timedelta(hours=1))

    result = await execute(user, LOGOUT, token=signed_in.token)

    assert result.errors == []
    assert result.data == {"logout": {"revoked": True}}


# One object of each type that `node(id:)` fetches.
NODE_LABELS = (
    "office booking",
    "office guest",
    "office customer",
    "ADMIN user",
    "guided departure",
    "activity",
    "weight_kg",
    "organization",
)


def anonymous_cases(scene: Scene) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return every operation but `login`, with variables naming real objects."""
    operations: dict[str, tuple[str, dict[str, Any]]] = {
        name: (document, {}) for name, (document, _) in LISTS.items()
    }
    operations["viewer"] = (VIEWER, {})
    for label in NODE_LABELS:
        operations[f"node {label}"] = (NODE, {"id": scene.id_of(label)})

    operations["createBooking"] = (CREATE_BOOKING, {"input": booking_input(scene)})
    operations["cancelBooking"] = (CANCEL_BOOKING, {"input": {"id": scene.id_of("own booking")}})
    operations["updateGuest"] = (
        UPDATE_GUEST,
        {"input": {"id": scene.id_of("own guest"), "lastName": "Renamed"}},
    )

    operations["createUser"] = (CREATE_USER, {"input": NEW_USER})
    operations["updateUserRoles"] = (
        UPDATE_USER_ROLES,
        {"input": {"id": scene.id_of("colleague"), "roles": ["ADMIN"]}},
    )
    operations["deactivateUser"] = (DEACTIVATE_USER, {"input": {"id": scene.id_of("colleague")}})

    operations["logout"] = (LOGOUT, {})
    return operations


async def test_anonymous_is_unauthenticated_everywhere_but_login(scene):
    codes = {}
    for name, (document, variables) in anonymous_cases(scene).items():
        result = await execute(None, document, variables)
        codes[name] = ",".join(result.codes)

    assert codes == dict.fromkeys(anonymous_cases(scene), "UNAUTHENTICATED")


async def test_anonymous_changes_nothing(scene):
    for document, variables in anonymous_cases(scene).values():
        await execute(None, document, variables)

    assert await Booking.filter(status=BookingStatus.CANCELLED).count() == 0
    assert await Booking.all().count() == len(scene.bookings)
    assert await Guest.filter(last_name="Renamed").count() == 0
    assert await User.exists(email="new@alpine.example") is False
    assert await UserRole.filter(user_id=scene.colleague.id, role=Role.ADMIN).exists() is False
    assert await User.filter(is_active=False).count() == 0


async def test_anonymous_may_login(scene):
    credentials = {"email": scene.colleague.email, "password": PASSWORD}

    result = await execute(None, LOGIN, {"input": credentials})

    assert mutation_outcome(result, "login") == DONE


BOOKINGS_FOUND_BY_SEARCH = """
query Search($search: String!) { bookings(filter: {search: $search}) { totalCount } }
"""


async def test_guide_cannot_find_bookings_by_buyer(world):
    guide = world.user("alpine", Role.GUIDE)
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        buyer_email="hidden.payer@example.com",
        buyer_name=("Hidden", "Payer"),
        guests=[("Gina", "Guest")],
    )

    by_buyer = await execute(guide, BOOKINGS_FOUND_BY_SEARCH, {"search": "hidden.payer"})
    by_guest = await execute(guide, BOOKINGS_FOUND_BY_SEARCH, {"search": "Gina"})

    assert by_buyer.data == {"bookings": {"totalCount": 0}}
    assert by_guest.data == {"bookings": {"totalCount": 1}}


AGENT_CUSTOMERS = """
query Customers($status: [BookingStatus!]) {
  customers(filter: {status: $status}) {
    nodes { email bookingCount totalSpent { amount } }
  }
}
"""


async def test_agent_sees_customer_figures_of_own_bookings_only(world):
    agent = world.user("alpine", Role.AGENT)
    employee = world.user("alpine", Role.EMPLOYEE)
    for created_by, total in ((agent, "40.00"), (employee, "500.00"), (employee, "60.00")):
        await add_booking(
            seller=world.alpine,
            departure=world.departure,
            created_by=created_by,
            buyer_email="shared@example.com",
            total=Decimal(total),
        )
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        created_by=employee,
        buyer_email="shared@example.com",
        status=BookingStatus.CANCELLED,
    )

    everything = await execute(agent, AGENT_CUSTOMERS)
    cancelled = await execute(agent, AGENT_CUSTOMERS, {"status": ["CANCELLED"]})

    assert everything.data == {
        "customers": {
            "nodes": [
                {
                    "email": "shared@example.com",
                    "bookingCount": 1,
                    "totalSpent": {"amount": "40.00"},
                }
            ]
        }
    }
    assert cancelled.data == {"customers": {"nodes": []}}


AGENT_CUSTOMER_PAGE = """
query Customers($after: String, $orderBy: CustomerOrder) {
  customers(first: 1, after: $after, orderBy: $orderBy) {
    edges { cursor node { email } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.parametrize(
    ("field", "direction", "expected"),
    [
        ("LAST_BOOKING_AT", "DESC", ["a", "c", "b"]),
        ("FIRST_BOOKING_AT", "ASC", ["c", "a", "b"]),
        ("BOOKING_COUNT", "DESC", ["c", "a", "b"]),
    ],
)
async def test_agent_customer_cursors_follow_list_order(world, field, direction, expected):
    # An agent reads the figures of its own bookings, but the list is ordered by the
    # organization's figures. Cursors must contain those, or the next page starts elsewhere.
    agent = world.user("alpine", Role.AGENT)
    employee = world.user("alpine", Role.EMPLOYEE)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    for email, created_by, hours in (
        ("a", agent, 1),
        ("b", agent, 5),
        ("c", employee, 0),
        ("a", employee, 10),
        ("a", employee, 11),
        ("c", agent, 3),
        ("c", employee, 8),
    ):
        await add_booking(
            seller=world.alpine,
            departure=world.departure,
            created_by=created_by,
            buyer_email=f"{email}@example.com",
            created_at=start + timedelta(hours=hours),
        )

    seen: list[str] = []
    variables: dict[str, Any] = {"orderBy": {"field": field, "direction": direction}}
    for _ in range(len(expected) + 1):
        result = await execute(agent, AGENT_CUSTOMER_PAGE, variables)
        assert result.errors == []
        assert result.data is not None
        page = result.data["customers"]
        seen += [edge["node"]["email"].split("@")[0] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        assert page["edges"][-1]["cursor"] == page["pageInfo"]["endCursor"]
        variables["after"] = page["pageInfo"]["endCursor"]

    assert seen == expected
