"""Mutations end to end: bookings, guests and users, checked in the payload and in the database."""

from decimal import Decimal
from typing import Any

import pytest

from models.bookings import Booking, Buyer, CustomFieldAnswer, Guest
from models.catalog import CustomField
from models.commands.auth import viewer_for_token
from models.customers import Customer
from models.enums import CustomFieldScope, CustomFieldType, Role
from models.users import AccessToken, User, UserRole
from schema.relay import from_global_id, to_global_id
from tests.factories import PASSWORD, World, add_booking, create_user
from tests.helpers import Result, execute

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking {
      id
      reference
      status
      channel
      total { amount currency }
      seller { slug }
      buyer { firstName lastName email phone country language marketingConsent }
      guests { firstName lastName category answers { key value } }
      answers { key value }
      departure { seatsTaken }
    }
    errors { field code message }
  }
}
"""

CANCEL_BOOKING = """
mutation CancelBooking($input: CancelBookingInput!) {
  cancelBooking(input: $input) {
    booking { status cancelledAt departure { seatsTaken seatsLeft } }
    errors { field code message }
  }
}
"""

UPDATE_GUEST = """
mutation UpdateGuest($input: UpdateGuestInput!) {
  updateGuest(input: $input) {
    guest {
      firstName lastName email phone category checkedIn checkedInAt
      answers { key value }
    }
    errors { field code message }
  }
}
"""

CUSTOMERS = """
query Customers($filter: CustomerFilterInput) {
  customers(first: 10, filter: $filter) {
    nodes { email bookingCount totalSpent { amount currency } }
  }
}
"""

PARTNER_BOOKINGS = """
query PartnerBookings {
  bookings(first: 10, filter: {includePartners: true}) {
    nodes { channel seller { slug } buyer { email } }
  }
}
"""

DEPARTURE_SEATS = """
query DepartureSeats($id: ID!) {
  node(id: $id) { ... on Departure { seatsTaken seatsLeft } }
}
"""

CREATE_USER = """
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) {
    user { id email firstName lastName isActive roles }
    errors { field code message }
  }
}
"""

UPDATE_USER_ROLES = """
mutation UpdateUserRoles($input: UpdateUserRolesInput!) {
  updateUserRoles(input: $input) {
    user { roles }
    errors { field code message }
  }
}
"""

DEACTIVATE_USER = """
mutation DeactivateUser($input: DeactivateUserInput!) {
  deactivateUser(input: $input) {
    user { isActive }
    errors { field code message }
  }
}
"""

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { token errors { field code message } }
}
"""


def payload_of(result: Result, field: str) -> dict[str, Any]:
    assert result.errors == [], result.errors
    assert result.data is not None
    payload: dict[str, Any] = result.data[field]
    return payload


def error_codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


def guest_input(first_name: str = "Anna", weight: str = "72.5", **changes: Any) -> dict[str, Any]:
    value = {
        "firstName": first_name,
        "lastName": "Keller",
        "answers": [{"key": "weight_kg", "value": weight}],
    }
    return {**value, **changes}


def booking_input(
    world: World,
    *,
    email: str = "zoe@example.com",
    guests: int = 1,
    total: str = "100.00",
    **changes: Any,
) -> dict[str, Any]:
    value = {
        "departure": to_global_id("Departure", world.departure.id),
        "buyer": {"firstName": "Zoe", "lastName": "Keller", "email": email},
        "guests": [guest_input(f"Guest{index}") for index in range(guests)],
        "totalAmount": total,
    }
    return {**value, **changes}


async def create_booking(user: User, booking: dict[str, Any]) -> dict[str, Any]:
    return payload_of(await execute(user, CREATE_BOOKING, {"input": booking}), "createBooking")


async def seats_taken(world: World) -> int:
    departure_id = to_global_id("Departure", world.departure.id)
    result = await execute(world.user("alpine", Role.ADMIN), DEPARTURE_SEATS, {"id": departure_id})
    assert result.data is not None
    taken: int = result.data["node"]["seatsTaken"]
    return taken


@pytest.fixture
async def more_fields(world: World) -> World:
    """Add a BOOLEAN question per booking and a DATE question per guest to Alpine's."""
    await CustomField.create(
        organization_id=world.alpine.id,
        scope=CustomFieldScope.BOOKING,
        key="needs_transfer",
        label="Needs a transfer",
        type=CustomFieldType.BOOLEAN,
        position=2,
    )
    await CustomField.create(
        organization_id=world.alpine.id,
        scope=CustomFieldScope.GUEST,
        key="birth_date",
        label="Date of birth",
        type=CustomFieldType.DATE,
        position=3,
    )
    return world


FULL_BOOKING = {
    "buyer": {
        "firstName": " Zoë ",
        "lastName": " Müller ",
        "email": " Zoe@Example.COM ",
        "phone": " +41 79 123 45 67 ",
        "country": "CH",
        "language": "de-CH",
        "marketingConsent": True,
    },
    "guests": [
        {
            "firstName": "Anna",
            "lastName": "Müller",
            "answers": [
                {"key": "weight_kg", "value": "72.50"},
                {"key": "dietary_needs", "value": "vegan"},
                {"key": "birth_date", "value": "2001-02-03"},
            ],
        },
        {
            "firstName": "Ben",
            "lastName": "Müller",
            "category": "CHILD",
            "answers": [{"key": "weight_kg", "value": " 38 "}],
        },
    ],
    "answers": [
        {"key": "hotel_pickup", "value": " Hotel Bellevue "},
        {"key": "needs_transfer", "value": "TRUE"},
    ],
    "totalAmount": "240.50",
}


async def test_create_booking_returns_whole_booking(more_fields):
    world = more_fields
    booking = {**FULL_BOOKING, "departure": to_global_id("Departure", world.departure.id)}

    payload = await create_booking(world.user("alpine", Role.EMPLOYEE), booking)

    assert payload["errors"] == []
    created = payload["booking"]
    assert created["status"] == "CONFIRMED"
    assert created["channel"] == "BACK_OFFICE"
    assert created["seller"] == {"slug": "alpine"}
    assert created["total"] == {"amount": "240.50", "currency": "CHF"}
    assert created["buyer"] == {
        "firstName": "Zoë",
        "lastName": "Müller",
        "email": "Zoe@Example.COM",
        "phone": "+41 79 123 45 67",
        "country": "CH",
        "language": "de-CH",
        "marketingConsent": True,
    }
    assert created["guests"] == [
        {
            "firstName": "Anna",
            "lastName": "Müller",
            "category": "ADULT",
            "answers": [
                {"key": "weight_kg", "value": "72.50"},
                {"key": "dietary_needs", "value": "vegan"},
                {"key": "birth_date", "value": "2001-02-03"},
            ],
        },
        {
            "firstName": "Ben",
            "lastName": "Müller",
            "category": "CHILD",
            "answers": [{"key": "weight_kg", "value": "38"}],
        },
    ]
    assert created["answers"] == [
        {"key": "hotel_pickup", "value": "Hotel Bellevue"},
        {"key": "needs_transfer", "value": "true"},
    ]
    assert created["departure"] == {"seatsTaken": 2}


async def test_create_booking_writes_rows(more_fields):
    world = more_fields
    booking = {**FULL_BOOKING, "departure": to_global_id("Departure", world.departure.id)}

    payload = await create_booking(world.user("alpine", Role.EMPLOYEE), booking)

    row = await Booking.get(id=from_global_id(payload["booking"]["id"])[1])
    assert row.created_by_id == world.user("alpine", Role.EMPLOYEE).id
    assert row.total_amount == Decimal("240.50")
    assert row.reference == payload["booking"]["reference"]
    assert (await Buyer.get(booking_id=row.id)).email == "Zoe@Example.COM"
    guests = await Guest.filter(booking_id=row.id).order_by("position")
    assert [(guest.first_name, guest.position) for guest in guests] == [("Anna", 0), ("Ben", 1)]
    assert await CustomFieldAnswer.filter(booking_id=row.id).count() == 6
    customer = await Customer.get(id=row.customer_id)
    assert (customer.organization_id, customer.email_key) == (world.alpine.id, "zoe@example.com")
    assert (customer.booking_count, customer.total_spent) == (1, Decimal("240.50"))


NORMALISED_ANSWERS = [
    ("weight_kg", "72.50", "72.50"),
    ("weight_kg", " 80 ", "80"),
    ("weight_kg", "+72.5", "72.5"),
    ("weight_kg", "1e2", "100"),
    ("weight_kg", "7.25E1", "72.5"),
    ("weight_kg", "0.000005", "0.000005"),
    ("weight_kg", "0.0000005", "0.0000005"),
    ("weight_kg", "-0.50", "-0.50"),
    ("needs_transfer", "TRUE", "true"),
    ("needs_transfer", " False ", "false"),
    ("birth_date", "2001-02-03", "2001-02-03"),
    ("dietary_needs", " vegan ", "vegan"),
]


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    NORMALISED_ANSWERS,
    ids=[f"{key}-{value.strip()}" for key, value, _ in NORMALISED_ANSWERS],
)
async def test_answer_normalised(more_fields, key, value, stored):
    world = more_fields
    answer = {"key": key, "value": value}
    booking = booking_input(world)
    if key == "needs_transfer":
        booking["answers"] = [answer]
    elif key != "weight_kg":
        booking["guests"][0]["answers"].append(answer)
    else:
        booking["guests"][0]["answers"] = [answer]

    payload = await create_booking(world.user("alpine", Role.EMPLOYEE), booking)

    assert payload["errors"] == []
    created = payload["booking"]
    answers = created["answers"] + created["guests"][0]["answers"]
    assert {"key": key, "value": stored} in answers


NUMBER_OUT_OF_RANGE = ["1e100", "1e-100", "1e999999999"]


@pytest.mark.parametrize("value", NUMBER_OUT_OF_RANGE)
async def test_number_answer_out_of_range(world, value):
    booking = booking_input(world)
    booking["guests"][0]["answers"] = [{"key": "weight_kg", "value": value}]

    payload = await create_booking(world.user("alpine", Role.EMPLOYEE), booking)

    assert error_codes(payload) == [("guests.0.answers.weight_kg", "INVALID")]
    assert value in payload["errors"][0]["message"]


async def test_customer_merged_by_normalised_email(world):
    employee = world.user("alpine", Role.EMPLOYEE)
    await create_booking(employee, booking_input(world, email=" Zoe@Example.COM ", total="100.00"))
    await create_booking(employee, booking_input(world, email="zoe@example.com", total="55.50"))

    result = await execute(employee, CUSTOMERS, {"filter": {"search": "zoe"}})

    customers = payload_of(result, "customers")["nodes"]
    assert customers == [
        {
            "email": "zoe@example.com",
            "bookingCount": 2,
            "totalSpent": {"amount": "155.50", "currency": "CHF"},
        }
    ]
    assert await Customer.filter(organization_id=world.alpine.id).count() == 1


async def test_cancel_booking_frees_seats_and_counts_once(world):
    employee = world.user("alpine", Role.EMPLOYEE)
    first = await create_booking(employee, booking_input(world, guests=2, total="100.00"))
    await create_booking(employee, booking_input(world, guests=1, total="55.50"))
    booking_id = first["booking"]["id"]

    cancelled = payload_of(
        await execute(employee, CANCEL_BOOKING, {"input": {"id": booking_id}}), "cancelBooking"
    )
    again = payload_of(
        await execute(employee, CANCEL_BOOKING, {"input": {"id": booking_id}}), "cancelBooking"
    )

    assert cancelled["errors"] == []
    assert cancelled["booking"]["status"] == "CANCELLED"
    assert cancelled["booking"]["cancelledAt"] is not None
    assert cancelled["booking"]["departure"] == {"seatsTaken": 1, "seatsLeft": 11}
    assert error_codes(again) == [("id", "ALREADY_CANCELLED")]
    assert again["booking"] is None
    customer = await Customer.get(organization_id=world.alpine.id)
    assert (customer.booking_count, customer.total_spent) == (1, Decimal("55.50"))
    assert await seats_taken(world) == 1


async def test_cancel_booking_of_other_organization_not_found(world):
    partner_booking = await create_booking(world.user("lakeside", Role.ADMIN), booking_input(world))

    result = await execute(
        world.user("alpine", Role.ADMIN),
        CANCEL_BOOKING,
        {"input": {"id": partner_booking["booking"]["id"]}},
    )

    assert result.codes == ["NOT_FOUND"]
    assert await seats_taken(world) == 1


async def test_capacity_enforced(world):
    employee = world.user("alpine", Role.EMPLOYEE)
    ten = await create_booking(employee, booking_input(world, guests=10))

    three = await create_booking(employee, booking_input(world, guests=3))
    two = await create_booking(employee, booking_input(world, guests=2))
    one = await create_booking(employee, booking_input(world, guests=1))

    assert ten["errors"] == []
    assert error_codes(three) == [("guests", "CAPACITY_EXCEEDED")]
    assert "2 seats left of 12" in three["errors"][0]["message"]
    assert two["errors"] == []
    assert error_codes(one) == [("guests", "CAPACITY_EXCEEDED")]
    assert await seats_taken(world) == 12


async def test_pending_bookings_take_seats_and_cancelled_do_not(world):
    employee = world.user("alpine", Role.EMPLOYEE)
    pending = await create_booking(employee, booking_input(world, guests=10, status="PENDING"))
    await execute(employee, CANCEL_BOOKING, {"input": {"id": pending["booking"]["id"]}})
    await create_booking(employee, booking_input(world, guests=6, status="PENDING"))

    seven = await create_booking(employee, booking_input(world, guests=7))
    six = await create_booking(employee, booking_input(world, guests=6))

    assert error_codes(seven) == [("guests", "CAPACITY_EXCEEDED")]
    assert six["errors"] == []
    assert await seats_taken(world) == 12


async def test_partner_booking_sold_by_partner(world):
    partner = world.user("lakeside", Role.ADMIN)

    payload = await create_booking(partner, booking_input(world, email="lea@example.com"))

    assert payload["errors"] == []
    assert payload["booking"]["channel"] == "PARTNER"
    assert payload["booking"]["seller"] == {"slug": "lakeside"}
    assert payload["booking"]["buyer"]["email"] == "lea@example.com"
    customer = await Customer.get(email_key="lea@example.com")
    assert customer.organization_id == world.lakeside.id


async def test_partner_booking_seen_by_supplier_without_buyer(world):
    await create_booking(world.user("lakeside", Role.ADMIN), booking_input(world))

    result = await execute(world.user("alpine", Role.ADMIN), PARTNER_BOOKINGS)

    bookings = payload_of(result, "bookings")["nodes"]
    assert bookings == [{"channel": "PARTNER", "seller": {"slug": "lakeside"}, "buyer": None}]
    assert await Customer.filter(organization_id=world.alpine.id).count() == 0


async def test_revoked_partner_cannot_book(world):
    result = await execute(
        world.user("summit", Role.ADMIN), CREATE_BOOKING, {"input": booking_input(world)}
    )

    assert result.codes == ["NOT_FOUND"]
    assert await Booking.all().count() == 0


@pytest.fixture
async def booked_guest(world: World) -> Guest:
    booking = await add_booking(
        seller=world.alpine,
        departure=world.departure,
        created_by=world.user("alpine", Role.EMPLOYEE),
        guests=[("Anna", "Keller"), ("Ben", "Keller")],
        answers={world.fields["weight_kg"]: "72.5", world.fields["dietary_needs"]: "vegan"},
    )
    return await Guest.get(booking_id=booking.id, position=0)


async def update_guest(user: User, guest: Guest, **changes: Any) -> dict[str, Any]:
    variables = {"input": {"id": to_global_id("Guest", guest.id), **changes}}
    return payload_of(await execute(user, UPDATE_GUEST, variables), "updateGuest")


async def test_update_guest_changes_given_fields(world, booked_guest):
    payload = await update_guest(
        world.user("alpine", Role.EMPLOYEE),
        booked_guest,
        lastName=" Meier ",
        email="anna@example.com",
        phone="+41 79 000 00 00",
        category="STUDENT",
    )

    assert payload["errors"] == []
    updated = payload["guest"]
    assert updated["firstName"] == "Anna"
    assert updated["lastName"] == "Meier"
    assert updated["email"] == "anna@example.com"
    assert updated["phone"] == "+41 79 000 00 00"
    assert updated["category"] == "STUDENT"
    assert updated["answers"] == [
        {"key": "weight_kg", "value": "72.5"},
        {"key": "dietary_needs", "value": "vegan"},
    ]
    assert (await Guest.get(id=booked_guest.id)).last_name == "Meier"


async def test_update_guest_checks_in_and_out(world, booked_guest):
    guide_desk = world.user("alpine", Role.EMPLOYEE)

    checked_in = await update_guest(guide_desk, booked_guest, checkedIn=True)
    still_in = await update_guest(guide_desk, booked_guest, checkedIn=True, phone="+41 1")
    checked_out = await update_guest(guide_desk, booked_guest, checkedIn=False)

    assert checked_in["guest"]["checkedIn"] is True
    assert checked_in["guest"]["checkedInAt"] is not None
    assert still_in["guest"]["checkedInAt"] == checked_in["guest"]["checkedInAt"]
    assert checked_out["guest"]["checkedIn"] is False
    assert checked_out["guest"]["checkedInAt"] is None
    assert (await Guest.get(id=booked_guest.id)).checked_in_at is None


async def test_update_guest_replaces_answers(world, booked_guest):
    payload = await update_guest(
        world.user("alpine", Role.EMPLOYEE),
        booked_guest,
        answers=[{"key": "weight_kg", "value": " 80.0 "}],
    )

    assert payload["errors"] == []
    assert payload["guest"]["answers"] == [{"key": "weight_kg", "value": "80.0"}]
    stored = await CustomFieldAnswer.filter(guest_id=booked_guest.id)
    assert [answer.value for answer in stored] == ["80.0"]


INVALID_GUEST_CHANGES: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {
    "invalid-number": (
        {"answers": [{"key": "weight_kg", "value": "heavy"}]},
        [("answers.weight_kg", "INVALID")],
    ),
    "required-answer-dropped": (
        {"answers": [{"key": "dietary_needs", "value": "vegan"}]},
        [("answers.weight_kg", "REQUIRED")],
    ),
    "unknown-key": (
        {"answers": [{"key": "weight_kg", "value": "70"}, {"key": "hotel_pickup", "value": "x"}]},
        [("answers.hotel_pickup", "UNKNOWN_FIELD")],
    ),
    "empty-first-name": ({"firstName": " "}, [("firstName", "REQUIRED")]),
    "bad-email": ({"email": "anna@"}, [("email", "INVALID")]),
    "name-and-answer": (
        {"lastName": "", "answers": [{"key": "weight_kg", "value": "x"}]},
        [("lastName", "REQUIRED"), ("answers.weight_kg", "INVALID")],
    ),
}


@pytest.mark.parametrize(
    ("changes", "expected"), INVALID_GUEST_CHANGES.values(), ids=INVALID_GUEST_CHANGES.keys()
)
async def test_update_guest_rejects_and_keeps_guest(world, booked_guest, changes, expected):
    payload = await update_guest(
        world.user("alpine", Role.EMPLOYEE), booked_guest, checkedIn=True, **changes
    )

    assert error_codes(payload) == expected
    assert payload["guest"] is None
    stored = await Guest.get(id=booked_guest.id)
    assert (stored.first_name, stored.last_name, stored.email) == ("Anna", "Keller", "")
    assert stored.checked_in_at is None
    answers = await CustomFieldAnswer.filter(guest_id=booked_guest.id).order_by("id")
    assert [answer.value for answer in answers] == ["72.5", "vegan"]


async def create_user_payload(admin: User, **changes: Any) -> dict[str, Any]:
    user = {
        "email": "  Nina.Berger@Alpine.Example ",
        "firstName": " Nina ",
        "lastName": "Berger",
        "password": "long enough secret",
        "roles": ["EMPLOYEE", "AGENT", "EMPLOYEE"],
        **changes,
    }
    return payload_of(await execute(admin, CREATE_USER, {"input": user}), "createUser")


async def test_create_user(world):
    payload = await create_user_payload(world.user("alpine", Role.ADMIN))

    assert payload["errors"] == []
    assert payload["user"]["email"] == "nina.berger@alpine.example"
    assert payload["user"]["firstName"] == "Nina"
    assert payload["user"]["isActive"] is True
    assert payload["user"]["roles"] == ["AGENT", "EMPLOYEE"]
    user = await User.get(email="nina.berger@alpine.example")
    assert user.organization_id == world.alpine.id


async def test_created_user_can_sign_in(world):
    await create_user_payload(world.user("alpine", Role.ADMIN))

    result = await execute(
        None,
        LOGIN,
        {"input": {"email": "NINA.BERGER@alpine.example", "password": "long enough secret"}},
    )

    assert payload_of(result, "login")["token"]


async def test_create_user_by_employee_forbidden(world):
    result = await execute(
        world.user("alpine", Role.EMPLOYEE),
        CREATE_USER,
        {
            "input": {
                "email": "x@alpine.example",
                "firstName": "X",
                "lastName": "Y",
                "password": "long enough secret",
                "roles": ["ADMIN"],
            }
        },
    )

    assert result.codes == ["FORBIDDEN"]
    assert not await User.exists(email="x@alpine.example")


async def update_roles(admin: User, user: User, roles: list[str]) -> dict[str, Any]:
    variables = {"input": {"id": to_global_id("User", user.id), "roles": roles}}
    return payload_of(await execute(admin, UPDATE_USER_ROLES, variables), "updateUserRoles")


async def roles_of(user: User) -> list[str]:
    roles = await UserRole.filter(user_id=user.id).order_by("role").values_list("role", flat=True)
    return [str(role) for role in roles]


async def test_update_user_roles_replaces_set(world):
    guide = world.user("alpine", Role.GUIDE)

    payload = await update_roles(world.user("alpine", Role.ADMIN), guide, ["EDITOR", "GUIDE"])

    assert payload["errors"] == []
    assert payload["user"]["roles"] == ["EDITOR", "GUIDE"]
    assert await roles_of(guide) == ["EDITOR", "GUIDE"]


async def test_last_active_admin_keeps_admin(world):
    # Lakeside's and Summit's admins do not count: they are other organizations'.
    admin = world.user("alpine", Role.ADMIN)

    payload = await update_roles(admin, admin, ["EMPLOYEE"])

    assert error_codes(payload) == [("roles", "LAST_ADMIN")]
    assert admin.email in payload["errors"][0]["message"]
    assert await roles_of(admin) == ["ADMIN"]


async def test_admin_removable_while_another_is_active(world):
    admin = world.user("alpine", Role.ADMIN)
    await create_user(world.alpine, Role.ADMIN, email="second.admin@alpine.example")

    payload = await update_roles(admin, admin, ["EMPLOYEE"])

    assert payload["errors"] == []
    assert await roles_of(admin) == ["EMPLOYEE"]


async def test_deactivated_admin_does_not_count(world):
    admin = world.user("alpine", Role.ADMIN)
    second = await create_user(world.alpine, Role.ADMIN, email="second.admin@alpine.example")
    second.is_active = False
    await second.save()

    payload = await update_roles(admin, admin, ["EMPLOYEE"])

    assert error_codes(payload) == [("roles", "LAST_ADMIN")]
    assert await roles_of(admin) == ["ADMIN"]


async def test_update_roles_of_other_organization_not_found(world):
    variables = {
        "input": {"id": to_global_id("User", world.user("lakeside", Role.GUIDE).id), "roles": []}
    }

    result = await execute(world.user("alpine", Role.ADMIN), UPDATE_USER_ROLES, variables)

    assert result.codes == ["NOT_FOUND"]
    assert await roles_of(world.user("lakeside", Role.GUIDE)) == ["GUIDE"]


async def deactivate(admin: User, user: User) -> dict[str, Any]:
    variables = {"input": {"id": to_global_id("User", user.id)}}
    return payload_of(await execute(admin, DEACTIVATE_USER, variables), "deactivateUser")


async def sign_in(user: User) -> str:
    result = await execute(None, LOGIN, {"input": {"email": user.email, "password": PASSWORD}})
    token: str = payload_of(result, "login")["token"]
    return token


async def test_cannot_deactivate_yourself(world):
    admin = world.user("alpine", Role.ADMIN)

    payload = await deactivate(admin, admin)

    assert error_codes(payload) == [("id", "INVALID")]
    assert (await User.get(id=admin.id)).is_active is True


async def test_deactivate_user_revokes_tokens(world):
    employee = world.user("alpine", Role.EMPLOYEE)
    tokens = [await sign_in(employee), await sign_in(employee)]

    payload = await deactivate(world.user("alpine", Role.ADMIN), employee)

    assert payload["errors"] == []
    assert payload["user"]["isActive"] is False
    assert [await viewer_for_token(token) for token in tokens] == [None, None]
    assert await AccessToken.filter(user_id=employee.id, revoked_at=None).count() == 0


async def test_deactivated_user_cannot_sign_in(world):
    employee = world.user("alpine", Role.EMPLOYEE)
    await deactivate(world.user("alpine", Role.ADMIN), employee)

    result = await execute(None, LOGIN, {"input": {"email": employee.email, "password": PASSWORD}})

    assert error_codes(payload_of(result, "login")) == [("password", "INVALID_CREDENTIALS")]


async def test_deactivate_keeps_other_users_tokens(world):
    employee = world.user("alpine", Role.EMPLOYEE)
    accountant = world.user("alpine", Role.ACCOUNTANT)
    token = await sign_in(accountant)

    await deactivate(world.user("alpine", Role.ADMIN), employee)

    viewer = await viewer_for_token(token)
    assert viewer is not None
    assert viewer.user_id == accountant.id


async def test_rebooking_keeps_details_left_empty(world):
    admin = world.user("alpine", Role.ADMIN)
    first = booking_input(world)
    first["buyer"] = {**first["buyer"], "phone": "+41 79 123 45 67", "country": "CH"}
    await create_booking(admin, first)

    await create_booking(admin, booking_input(world))

    customer = await Customer.get(email_key="zoe@example.com")
    assert customer.phone == "+41 79 123 45 67"
    assert customer.country == "CH"
    assert customer.booking_count == 2


async def test_name_with_control_character_rejected(world):
    booking = booking_input(world)
    booking["buyer"] = {**booking["buyer"], "lastName": "Kel\tler"}

    payload = await create_booking(world.user("alpine", Role.ADMIN), booking)

    assert error_codes(payload) == [("buyer.lastName", "INVALID")]
    assert await Booking.all().count() == 0


async def test_negative_zero_total_stored_as_zero(world):
    payload = await create_booking(
        world.user("alpine", Role.ADMIN), booking_input(world, total="-0")
    )

    assert payload["errors"] == []
    booking = await Booking.get()
    assert str(booking.total_amount) == "0.00"
