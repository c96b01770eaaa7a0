"""The operations of the mix, the random inputs they send and the client loop."""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from loadtest.client import GraphQLClient, RequestFailed
from loadtest.documents import (
    BOOKINGS_PAGE,
    CREATE_BOOKING,
    CREATE_EXPORT,
    CUSTOM_FIELDS,
    CUSTOMERS,
    EXPORT_PROGRESS,
    FUTURE_DEPARTURES,
    GUESTS,
    USERS,
)

# How long a client waits between two reads of a running export, and at most for it to end.
EXPORT_POLL_SECONDS = 0.5
EXPORT_TIMEOUT_SECONDS = 120
EXPORT_DONE_STATES = {"DONE", "FAILED", "EXPIRED"}
# Departures with fewer free seats than this are not booked, so most bookings fit.
MIN_FREE_SEATS = 3


@dataclass
class World:
    """Facts read once before the load starts, to build valid requests."""

    # Free seats by departure ID of future departures, reduced as the clients book them.
    free_seats: dict[str, int]
    booking_fields: list[dict[str, Any]]
    guest_fields: list[dict[str, Any]]
    anchor: date
    # perf_counter() value after which clients start no new operation and stop following exports.
    deadline: float = float("inf")


async def read_world(client: GraphQLClient, anchor: date) -> World:
    fields = (await client.execute("setup", CUSTOM_FIELDS))["customFields"]
    free_seats: dict[str, int] = {}
    after = None
    while True:
        variables = {"after": after, "from": (anchor + timedelta(days=1)).isoformat()}
        page = (await client.execute("setup", FUTURE_DEPARTURES, variables))["departures"]
        for departure in page["nodes"]:
            if departure["seatsLeft"] >= MIN_FREE_SEATS:
                free_seats[departure["id"]] = departure["seatsLeft"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    if not free_seats:
        raise SystemExit("The seeded database has no future departure with free seats to book.")
    return World(
        free_seats=free_seats,
        booking_fields=[f for f in fields if f["scope"] == "BOOKING"],
        guest_fields=[f for f in fields if f["scope"] == "GUEST"],
        anchor=anchor,
    )


# ----------------------------------------------------------------------------------------------
# Random inputs

FIRST_NAMES = ["Anna", "Luca", "Mia", "Noah", "Lea", "Elias", "Sara", "Jonas", "Zoé", "Björn"]
LAST_NAMES = ["Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Rossi", "Favre", "Graf"]
SEARCH_TERMS = ["mül", "meier", "anna", "son", "ri", "example.com", "keller", "zz-none"]
# Buyers come from a pool of emails, so some bookings add to an existing customer.
BUYER_EMAILS = 2000


def random_date_range(rng: random.Random, anchor: date) -> dict[str, str]:
    """Return up to two weeks of the seed's timetable: 120 days before to 90 after the anchor."""
    start = anchor + timedelta(days=rng.randint(-120, 80))
    return {
        "from": start.isoformat(),
        "to": (start + timedelta(days=rng.randint(0, 13))).isoformat(),
    }


def answer_for(rng: random.Random, definition: dict[str, Any], anchor: date) -> str:
    kind = definition["type"]
    if kind == "NUMBER":
        return str(rng.randint(40, 110))
    if kind == "SELECT":
        return str(rng.choice(definition["options"]))
    if kind == "BOOLEAN":
        return rng.choice(["true", "false"])
    if kind == "DATE":
        return (anchor + timedelta(days=rng.randint(0, 60))).isoformat()
    return f"Hotel {rng.choice(LAST_NAMES)}, Interlaken"


def answers_for(
    rng: random.Random, definitions: list[dict[str, Any]], anchor: date
) -> list[dict[str, str]]:
    """Answer every required question and about half of the optional ones."""
    return [
        {"key": definition["key"], "value": answer_for(rng, definition, anchor)}
        for definition in definitions
        if definition["required"] or rng.random() < 0.5
    ]


def booking_input(
    rng: random.Random, world: World, departure_id: str, seats: int
) -> dict[str, Any]:
    guests = [
        {
            "firstName": rng.choice(FIRST_NAMES),
            "lastName": rng.choice(LAST_NAMES),
            "category": rng.choice(["ADULT", "ADULT", "CHILD", "SENIOR"]),
            "answers": answers_for(rng, world.guest_fields, world.anchor),
        }
        for _ in range(seats)
    ]
    return {
        "departure": departure_id,
        "buyer": {
            "firstName": rng.choice(FIRST_NAMES),
            "lastName": rng.choice(LAST_NAMES),
            "email": f"load-{rng.randrange(BUYER_EMAILS)}@example.com",
            "country": rng.choice(["CH", "DE", "FR", ""]),
            "language": rng.choice(["de", "en", "fr"]),
            "marketingConsent": rng.random() < 0.3,
        },
        "guests": guests,
        "totalAmount": f"{rng.randint(30, 400) * seats}.{rng.choice(['00', '50'])}",
        "answers": answers_for(rng, world.booking_fields, world.anchor),
    }


# ----------------------------------------------------------------------------------------------
# Operations

Operation = Callable[[GraphQLClient, random.Random, World], Awaitable[None]]


async def list_guests(client: GraphQLClient, rng: random.Random, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {},
        {"tripDate": random_date_range(rng, world.anchor)},
        {"search": rng.choice(SEARCH_TERMS)},
        {"category": ["CHILD", "INFANT"], "checkedIn": False},
        {"includePartners": True, "status": ["CONFIRMED"]},
        {"bookingDate": random_date_range(rng, world.anchor), "includePartners": True},
    ]
    order = {"field": rng.choice(["TRIP_START", "LAST_NAME", "BOOKING_DATE"])}
    variables = {"filter": rng.choice(filters), "orderBy": order}
    await client.execute("guests", GUESTS, variables)


async def list_customers(client: GraphQLClient, rng: random.Random, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {},
        {"search": rng.choice(SEARCH_TERMS)},
        {"marketingConsent": True},
        {"tripDate": random_date_range(rng, world.anchor), "status": ["CONFIRMED"]},
    ]
    order = {"field": rng.choice(["LAST_BOOKING_AT", "LAST_NAME", "BOOKING_COUNT"])}
    variables = {"filter": rng.choice(filters), "orderBy": order}
    await client.execute("customers", CUSTOMERS, variables)


async def list_users(client: GraphQLClient, rng: random.Random, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {},
        {"role": [rng.choice(["ADMIN", "AGENT", "GUIDE"])]},
        {"search": rng.choice(["an", "keller", "example"]), "isActive": True},
    ]
    variables = {"filter": rng.choice(filters), "orderBy": {"field": "EMAIL"}}
    await client.execute("users", USERS, variables)


async def page_bookings(client: GraphQLClient, rng: random.Random, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {},
        {"status": ["CONFIRMED", "PENDING"]},
        {"tripDate": random_date_range(rng, world.anchor)},
        {"includePartners": True},
    ]
    order = {"field": rng.choice(["CREATED_AT", "TRIP_START", "REFERENCE"])}
    variables = {"filter": rng.choice(filters), "orderBy": order}
    await client.execute("bookings page", BOOKINGS_PAGE, variables)


def pick_departure(rng: random.Random, world: World, seats: int) -> str:
    while world.free_seats:
        departure_id = rng.choice(list(world.free_seats))
        if world.free_seats[departure_id] >= seats:
            return departure_id
        del world.free_seats[departure_id]
    raise SystemExit(
        "Every future departure is full; seed more bookings (--bookings), which adds departures."
    )


async def create_booking(client: GraphQLClient, rng: random.Random, world: World) -> None:
    seats = rng.choice([1, 1, 2, 2, 3])
    departure_id = pick_departure(rng, world, seats)
    variables = {"input": booking_input(rng, world, departure_id, seats)}
    # Reserved before the request, so that concurrent clients do not overbook from stale counts.
    world.free_seats[departure_id] -= seats
    try:
        data = await client.execute("createBooking", CREATE_BOOKING, variables)
    except RequestFailed:
        client.recorder.bookings_unknown += 1
        raise
    payload = data["createBooking"]
    # Another client may have taken the last seats between the read and this booking.
    client.user_errors("createBooking", payload["errors"], expected={"CAPACITY_EXCEEDED"})
    if payload["booking"] is not None:
        client.recorder.bookings_created += 1
    else:
        world.free_seats[departure_id] = 0


async def create_invalid_booking(client: GraphQLClient, rng: random.Random, world: World) -> None:
    """Send a booking without the required answers and with a bad email: it must write nothing."""
    departure_id = pick_departure(rng, world, 1)
    booking = booking_input(rng, world, departure_id, 1)
    booking["buyer"]["email"] = "not-an-email"
    for guest in booking["guests"]:
        guest["answers"] = []
    booking["answers"] = []
    operation = "createBooking (invalid)"
    data = await client.execute(operation, CREATE_BOOKING, {"input": booking})
    payload = data["createBooking"]
    expected = {"INVALID", "REQUIRED"}
    client.user_errors(operation, payload["errors"], expected=expected)
    if payload["booking"] is not None or not payload["errors"]:
        client.recorder.error(operation, "invalid booking accepted", expected=False)
        client.recorder.bookings_created += 1


def export_input(rng: random.Random, world: World) -> dict[str, Any]:
    """Return mostly up to two weeks of guests, sometimes all guests, the customers or the users."""
    draw = rng.random()
    if draw < 0.55:
        filter_ = {"tripDate": random_date_range(rng, world.anchor), "includePartners": True}
        return {"list": "GUESTS", "filter": filter_}
    if draw < 0.65:
        return {"list": "GUESTS", "filter": {"includePartners": True}}
    if draw < 0.85:
        return {"list": "CUSTOMERS", "filter": {"search": rng.choice(SEARCH_TERMS)}}
    return {"list": "USERS", "options": {"delimiter": "SEMICOLON", "byteOrderMark": True}}


async def export_to_csv(client: GraphQLClient, rng: random.Random, world: World) -> None:
    """Request an export, poll it until it ends and download the file."""
    started = time.perf_counter()
    data = await client.execute("createExport", CREATE_EXPORT, {"input": export_input(rng, world)})
    payload = data["createExport"]
    client.user_errors("createExport", payload["errors"], expected=set())
    export = payload["export"]
    if export is None:
        return

    deadline = started + EXPORT_TIMEOUT_SECONDS
    while export["status"] not in EXPORT_DONE_STATES:
        # Following it past the end of the load would stretch the measured time with one client.
        if time.perf_counter() > world.deadline:
            client.recorder.error("export (end to end)", "unfinished at the end", expected=True)
            return
        if time.perf_counter() > deadline:
            client.recorder.error("export (end to end)", "timed out", expected=False)
            return
        await asyncio.sleep(EXPORT_POLL_SECONDS)
        node = await client.execute("export poll", EXPORT_PROGRESS, {"id": export["id"]})
        export = {**node["node"], "id": export["id"]}

    if export["status"] != "DONE":
        kind = f"export {export['status']}: {export.get('error')}"
        client.recorder.error("export (end to end)", kind, expected=False)
        return
    await client.download("export download", export["url"])
    client.recorder.latency("export (end to end)", time.perf_counter() - started)


# Relative weights of the mix, by the name that `--only` takes. Mostly reads, a quarter bookings
# and a few exports.
MIX: dict[str, tuple[Operation, int]] = {
    "guests": (list_guests, 24),
    "customers": (list_customers, 14),
    "users": (list_users, 8),
    "bookings": (page_bookings, 20),
    "createBooking": (create_booking, 22),
    "invalidBooking": (create_invalid_booking, 3),
    "export": (export_to_csv, 4),
}


# Rows of the report in this order. The operations above record under these names.
REPORT_ORDER = [
    "guests",
    "customers",
    "users",
    "bookings page",
    "createBooking",
    "createBooking (invalid)",
    "createExport",
    "export poll",
    "export download",
    "export (end to end)",
]


async def run_client(
    number: int, client: GraphQLClient, world: World, seed: int, mix: list[str]
) -> None:
    """Send operations back to back until the deadline; each client starts with another one."""
    rng = random.Random(seed * 1000 + number)
    operations = [MIX[name][0] for name in mix]
    weights = [MIX[name][1] for name in mix]
    # The first round goes through the operations in turn, so a short run still has every kind.
    operation = operations[number % len(operations)]
    while time.perf_counter() < world.deadline:
        # The error is already recorded, and the client goes on like a user who tries again.
        with suppress(RequestFailed):
            await operation(client, rng, world)
        operation = rng.choices(operations, weights)[0]
