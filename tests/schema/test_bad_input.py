"""Bad input: one BAD_USER_INPUT error naming the value, or payload errors that write nothing."""

import base64
import logging
from typing import Any

import pytest

from models.bookings import Booking, Buyer, CustomFieldAnswer, Guest
from models.customers import Customer
from models.enums import Role
from models.users import User, UserRole
from schema.relay import to_global_id
from tests.factories import World
from tests.helpers import execute

BOOKINGS = """
query Bookings(
  $first: Int, $last: Int, $after: String, $filter: BookingFilterInput, $orderBy: BookingOrder
) {
  bookings(first: $first, last: $last, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    nodes { id }
  }
}
"""

BOOKINGS_FROM_LITERAL = """
query { bookings(filter: {bookingDate: {from: "2026-02-30"}}) { totalCount } }
"""

GUESTS = """
query Guests($first: Int, $filter: GuestFilterInput, $orderBy: GuestOrder) {
  guests(first: $first, filter: $filter, orderBy: $orderBy) { totalCount nodes { id } }
}
"""

CUSTOMERS = """
query Customers($first: Int, $filter: CustomerFilterInput, $orderBy: CustomerOrder) {
  customers(first: $first, filter: $filter, orderBy: $orderBy) { totalCount nodes { id } }
}
"""

USERS = """
query Users($first: Int, $filter: UserFilterInput, $orderBy: UserOrder) {
  users(first: $first, filter: $filter, orderBy: $orderBy) { totalCount nodes { id } }
}
"""

DEPARTURES = """
query Departures($first: Int, $last: Int, $filter: DepartureFilterInput) {
  departures(first: $first, last: $last, filter: $filter) { totalCount nodes { id } }
}
"""

NODE = """
query Node($id: ID!) { node(id: $id) { id } }
"""

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id }
    errors { field code message }
  }
}
"""

CREATE_USER = """
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) {
    user { id }
    errors { field code message }
  }
}
"""

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { token errors { field code message } }
}
"""


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


LONG_SEARCH = "x" * 201
GUEST_ID = to_global_id("Guest", 1)
BOOKING_ID = to_global_id("Booking", 1)
DEPARTURE_ID = to_global_id("Departure", 1)
MALFORMED_IDS = {
    "not-base64": "abc",
    "empty": "",
    "key-not-a-number": b64("Booking:x"),
    "key-negative": b64("Booking:-1"),
    "key-zero": b64("Booking:0"),
    "key-leading-zero": b64("Booking:01"),
    "key-beyond-32-bits": b64("Booking:99999999999"),
    "no-type": b64(":1"),
    "no-separator": b64("Booking"),
}

# (document, variables, a part of the value the message must name)
QUERY_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "booking-date-february-30": (
        BOOKINGS,
        {"filter": {"bookingDate": {"from": "2026-02-30"}}},
        "2026-02-30",
    ),
    "booking-date-literal-february-30": (BOOKINGS_FROM_LITERAL, {}, "2026-02-30"),
    "trip-date-yesterday": (BOOKINGS, {"filter": {"tripDate": {"to": "yesterday"}}}, "yesterday"),
    "guests-date-yesterday": (
        GUESTS,
        {"filter": {"bookingDate": {"from": "yesterday"}}},
        "yesterday",
    ),
    "customers-date-february-30": (
        CUSTOMERS,
        {"filter": {"tripDate": {"to": "2026-02-30"}}},
        "2026-02-30",
    ),
    "bookings-from-after-to": (
        BOOKINGS,
        {"filter": {"bookingDate": {"from": "2026-07-10", "to": "2026-07-01"}}},
        "2026-07-10",
    ),
    "guests-from-after-to": (
        GUESTS,
        {"filter": {"tripDate": {"from": "2026-07-10", "to": "2026-07-01"}}},
        "2026-07-10",
    ),
    "customers-from-after-to": (
        CUSTOMERS,
        {"filter": {"bookingDate": {"from": "2026-07-10", "to": "2026-07-01"}}},
        "2026-07-10",
    ),
    "departures-from-after-to": (
        DEPARTURES,
        {"filter": {"tripDate": {"from": "2026-07-10", "to": "2026-07-01"}}},
        "2026-07-10",
    ),
    "unknown-status": (BOOKINGS, {"filter": {"status": ["BOOKED"]}}, "BOOKED"),
    "unknown-guest-status": (GUESTS, {"filter": {"status": ["CONFIRMED", "PAID"]}}, "PAID"),
    "unknown-order-field": (BOOKINGS, {"orderBy": {"field": "PRICE"}}, "PRICE"),
    "unknown-order-direction": (
        GUESTS,
        {"orderBy": {"field": "LAST_NAME", "direction": "UP"}},
        "UP",
    ),
    "unknown-customer-order": (CUSTOMERS, {"orderBy": {"field": "EMAIL"}}, "EMAIL"),
    "unknown-user-order": (USERS, {"orderBy": {"field": "ROLE"}}, "ROLE"),
    **{
        f"node-id-{name}": (NODE, {"id": value}, repr(value))
        for name, value in MALFORMED_IDS.items()
    },
    **{
        f"filter-id-{name}": (BOOKINGS, {"filter": {"departure": value}}, repr(value))
        for name, value in MALFORMED_IDS.items()
    },
    "guest-id-for-departure": (BOOKINGS, {"filter": {"departure": GUEST_ID}}, GUEST_ID),
    "booking-id-for-activity": (GUESTS, {"filter": {"activity": BOOKING_ID}}, BOOKING_ID),
    "departure-id-for-activity": (
        DEPARTURES,
        {"filter": {"activity": DEPARTURE_ID}},
        DEPARTURE_ID,
    ),
    "first-500": (BOOKINGS, {"first": 500}, "500"),
    "first-negative": (BOOKINGS, {"first": -1}, "-1"),
    "last-500": (DEPARTURES, {"last": 500}, "500"),
    "first-and-last": (BOOKINGS, {"first": 5, "last": 5}, "first: 5 and last: 5"),
    "first-beyond-int": (BOOKINGS, {"first": 2**31}, str(2**31)),
    "long-search": (BOOKINGS, {"filter": {"search": LONG_SEARCH}}, "201 characters"),
    "long-guest-search": (GUESTS, {"filter": {"search": LONG_SEARCH}}, "201 characters"),
    "long-customer-search": (CUSTOMERS, {"filter": {"search": LONG_SEARCH}}, "201 characters"),
    "long-user-search": (USERS, {"filter": {"search": LONG_SEARCH}}, "201 characters"),
    "search-with-nul": (BOOKINGS, {"filter": {"search": "Zo\x00e"}}, "`search`"),
    "customer-search-with-nul": (CUSTOMERS, {"filter": {"search": "\x00"}}, "`search`"),
}


def unexpected_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("document", "variables", "named"), QUERY_CASES.values(), ids=QUERY_CASES.keys()
)
async def test_bad_argument_one_clear_error(world, caplog, document, variables, named):
    admin = world.user("alpine", Role.ADMIN)

    result = await execute(admin, document, variables)

    assert result.codes == ["BAD_USER_INPUT"]
    assert named in result.messages[0]
    assert result.data is None
    assert unexpected_errors(caplog) == []


async def counts() -> dict[str, int]:
    return {
        "bookings": await Booking.all().count(),
        "guests": await Guest.all().count(),
        "buyers": await Buyer.all().count(),
        "customers": await Customer.all().count(),
        "answers": await CustomFieldAnswer.all().count(),
        "users": await User.all().count(),
        "roles": await UserRole.all().count(),
    }


def guest(index: int = 0, **changes: Any) -> dict[str, Any]:
    value = {
        "firstName": f"Guest{index}",
        "lastName": "Keller",
        "answers": [{"key": "weight_kg", "value": "72.5"}],
    }
    return {**value, **changes}


BUYER = {"firstName": "Zoe", "lastName": "Keller", "email": "zoe@example.com"}


def booking_input(world: World, **changes: Any) -> dict[str, Any]:
    value = {
        "departure": to_global_id("Departure", world.departure.id),
        "buyer": BUYER,
        "guests": [guest()],
        "totalAmount": "120.00",
        "answers": [{"key": "hotel_pickup", "value": "Hotel Bellevue"}],
    }
    return {**value, **changes}


# (changes to a valid input, the (field, code) pairs expected, a part of the first message)
BOOKING_CASES: dict[str, tuple[dict[str, Any], list[tuple[str, str]], str]] = {
    "missing-required-answer": (
        {"guests": [guest(answers=[])]},
        [("guests.0.answers.weight_kg", "REQUIRED")],
        "weight_kg",
    ),
    "blank-required-answer": (
        {"guests": [guest(answers=[{"key": "weight_kg", "value": "  "}])]},
        [("guests.0.answers.weight_kg", "REQUIRED")],
        "weight_kg",
    ),
    "unknown-answer-key": (
        {"answers": [{"key": "shoe_size", "value": "42"}]},
        [("answers.shoe_size", "UNKNOWN_FIELD")],
        "shoe_size",
    ),
    "guest-key-on-booking": (
        {"answers": [{"key": "weight_kg", "value": "80"}]},
        [("answers.weight_kg", "UNKNOWN_FIELD")],
        "weight_kg",
    ),
    "answer-twice": (
        {
            "guests": [
                guest(
                    answers=[
                        {"key": "weight_kg", "value": "72"},
                        {"key": "weight_kg", "value": "73"},
                    ]
                )
            ]
        },
        [("guests.0.answers.weight_kg", "DUPLICATE")],
        "weight_kg",
    ),
    "answer-blank-then-again": (
        {
            "guests": [
                guest(
                    answers=[
                        {"key": "weight_kg", "value": ""},
                        {"key": "weight_kg", "value": "73"},
                    ]
                )
            ]
        },
        [("guests.0.answers.weight_kg", "DUPLICATE")],
        "weight_kg",
    ),
    "invalid-number": (
        {"guests": [guest(answers=[{"key": "weight_kg", "value": "seventy"}])]},
        [("guests.0.answers.weight_kg", "INVALID")],
        "seventy",
    ),
    "infinite-number": (
        {"guests": [guest(answers=[{"key": "weight_kg", "value": "Infinity"}])]},
        [("guests.0.answers.weight_kg", "INVALID")],
        "Infinity",
    ),
    "select-not-in-options": (
        {
            "guests": [
                guest(
                    answers=[
                        {"key": "weight_kg", "value": "72"},
                        {"key": "dietary_needs", "value": "keto"},
                    ]
                )
            ]
        },
        [("guests.0.answers.dietary_needs", "INVALID")],
        "keto",
    ),
    "answer-with-nul": (
        {"answers": [{"key": "hotel_pickup", "value": "Hotel\x00Bellevue"}]},
        [("answers.hotel_pickup", "INVALID")],
        "answers.hotel_pickup",
    ),
    "no-guests": ({"guests": []}, [("guests", "INVALID")], "0 guests"),
    "51-guests": (
        {"guests": [guest(index) for index in range(51)]},
        [("guests", "INVALID")],
        "51 guests",
    ),
    "bad-email": (
        {"buyer": {**BUYER, "email": "zoe@example"}},
        [("buyer.email", "INVALID")],
        "zoe@example",
    ),
    "email-with-nul": (
        {"buyer": {**BUYER, "email": "zoe\x00@example.com"}},
        [("buyer.email", "INVALID")],
        "zoe",
    ),
    "empty-buyer-name": (
        {"buyer": {**BUYER, "lastName": "   "}},
        [("buyer.lastName", "REQUIRED")],
        "buyer.lastName",
    ),
    "buyer-name-with-nul": (
        {"buyer": {**BUYER, "firstName": "Zo\x00e"}},
        [("buyer.firstName", "INVALID")],
        "buyer.firstName",
    ),
    "guest-name-with-nul": (
        {"guests": [guest(lastName="Kel\x00ler")]},
        [("guests.0.lastName", "INVALID")],
        "guests.0.lastName",
    ),
    "bad-guest-email": (
        {"guests": [guest(email="anna at example.com")]},
        [("guests.0.email", "INVALID")],
        "anna at example.com",
    ),
    "bad-country": (
        {"buyer": {**BUYER, "country": "Switzerland"}},
        [("buyer.country", "INVALID")],
        "Switzerland",
    ),
    "negative-amount": ({"totalAmount": "-5.00"}, [("totalAmount", "INVALID")], "-5.00"),
    "three-decimals": ({"totalAmount": "10.005"}, [("totalAmount", "INVALID")], "10.005"),
    "amount-not-a-number": ({"totalAmount": "NaN"}, [("totalAmount", "INVALID")], "NaN"),
    "amount-too-large": ({"totalAmount": "1e12"}, [("totalAmount", "INVALID")], "1E+12"),
    "new-booking-cancelled": ({"status": "CANCELLED"}, [("status", "INVALID")], "CANCELLED"),
    "more-guests-than-seats": (
        {"guests": [guest(index) for index in range(13)]},
        [("guests", "CAPACITY_EXCEEDED")],
        "needs 13",
    ),
    "two-problems": (
        {"totalAmount": "-1", "buyer": {**BUYER, "email": "zoe"}},
        [("buyer.email", "INVALID"), ("totalAmount", "INVALID")],
        "zoe",
    ),
}


@pytest.mark.parametrize(
    ("changes", "expected", "named"), BOOKING_CASES.values(), ids=BOOKING_CASES.keys()
)
async def test_create_booking_rejects_and_writes_nothing(world, caplog, changes, expected, named):
    before = await counts()

    result = await execute(
        world.user("alpine", Role.EMPLOYEE),
        CREATE_BOOKING,
        {"input": booking_input(world, **changes)},
    )

    assert result.errors == []
    assert result.data is not None
    payload = result.data["createBooking"]
    assert payload["booking"] is None
    assert [(error["field"], error["code"]) for error in payload["errors"]] == expected
    assert named in payload["errors"][0]["message"]
    assert await counts() == before
    assert unexpected_errors(caplog) == []


async def test_valid_booking_input_is_accepted(world):
    before = await counts()

    result = await execute(
        world.user("alpine", Role.EMPLOYEE), CREATE_BOOKING, {"input": booking_input(world)}
    )

    assert result.errors == []
    assert result.data is not None
    assert result.data["createBooking"]["errors"] == []
    assert (await counts())["bookings"] == before["bookings"] + 1


# (changes to a valid input, a part of the value the message must name)
BOOKING_ARGUMENT_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "departure-not-an-id": ({"departure": "abc"}, "'abc'"),
    "departure-empty-id": ({"departure": ""}, "''"),
    "guest-id-for-departure": ({"departure": GUEST_ID}, GUEST_ID),
    "amount-not-a-decimal": ({"totalAmount": "twelve"}, "twelve"),
    "unknown-category": ({"guests": [guest(category="PET")]}, "PET"),
    "unknown-status": ({"status": "MAYBE"}, "MAYBE"),
}


@pytest.mark.parametrize(
    ("changes", "named"), BOOKING_ARGUMENT_CASES.values(), ids=BOOKING_ARGUMENT_CASES.keys()
)
async def test_create_booking_bad_argument_writes_nothing(world, caplog, changes, named):
    before = await counts()

    result = await execute(
        world.user("alpine", Role.EMPLOYEE),
        CREATE_BOOKING,
        {"input": booking_input(world, **changes)},
    )

    assert result.codes == ["BAD_USER_INPUT"]
    assert named in result.messages[0]
    assert await counts() == before
    assert unexpected_errors(caplog) == []


def user_input(**changes: Any) -> dict[str, Any]:
    value = {
        "email": "new.user@alpine.example",
        "firstName": "Nina",
        "lastName": "Berger",
        "password": "long enough secret",
        "roles": ["EMPLOYEE"],
    }
    return {**value, **changes}


USER_CASES: dict[str, tuple[dict[str, Any], list[tuple[str, str]], str]] = {
    "short-password": ({"password": "short"}, [("password", "INVALID")], "5 characters"),
    "duplicate-email": (
        {"email": " ADMIN@alpine.example "},
        [("email", "DUPLICATE")],
        "admin@alpine.example",
    ),
    "duplicate-email-of-other-organization": (
        {"email": "admin@lakeside.example"},
        [("email", "DUPLICATE")],
        "admin@lakeside.example",
    ),
    "no-roles": ({"roles": []}, [("roles", "REQUIRED")], "role"),
    "bad-email": ({"email": "nina"}, [("email", "INVALID")], "nina"),
    "email-with-nul": ({"email": "nina\x00@alpine.example"}, [("email", "INVALID")], "nina"),
    "name-with-nul": ({"lastName": "Ber\x00ger"}, [("lastName", "INVALID")], "lastName"),
    "empty-first-name": ({"firstName": ""}, [("firstName", "REQUIRED")], "firstName"),
}


@pytest.mark.parametrize(
    ("changes", "expected", "named"), USER_CASES.values(), ids=USER_CASES.keys()
)
async def test_create_user_rejects_and_writes_nothing(world, caplog, changes, expected, named):
    before = await counts()

    result = await execute(
        world.user("alpine", Role.ADMIN), CREATE_USER, {"input": user_input(**changes)}
    )

    assert result.errors == []
    assert result.data is not None
    payload = result.data["createUser"]
    assert payload["user"] is None
    assert [(error["field"], error["code"]) for error in payload["errors"]] == expected
    assert named in payload["errors"][0]["message"]
    assert await counts() == before
    assert unexpected_errors(caplog) == []


async def test_create_user_unknown_role_rejected(world, caplog):
    before = await counts()

    result = await execute(
        world.user("alpine", Role.ADMIN), CREATE_USER, {"input": user_input(roles=["OWNER"])}
    )

    assert result.codes == ["BAD_USER_INPUT"]
    assert "OWNER" in result.messages[0]
    assert await counts() == before
    assert unexpected_errors(caplog) == []


async def test_login_with_nul_is_invalid_credentials(world, caplog):
    result = await execute(
        None, LOGIN, {"input": {"email": "admin\x00@alpine.example", "password": "x"}}
    )

    assert result.errors == []
    assert result.data is not None
    codes = [error["code"] for error in result.data["login"]["errors"]]
    assert codes == ["INVALID_CREDENTIALS"]
    assert unexpected_errors(caplog) == []
