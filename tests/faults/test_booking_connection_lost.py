"""createBooking interrupted by a lost database connection: all of its rows or none."""

import asyncio
import itertools
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from tortoise import connections

from models.enums import Role
from schema.errors import DATABASE_UNAVAILABLE_MESSAGE
from schema.relay import to_global_id
from tests.api.server import running_server
from tests.conftest import POSTGRES_URL
from tests.factories import World, create_departure
from tests.faults.support import bearer_headers, error_codes, require_postgres, response_body

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { reference } errors { field code message } }
}
"""

GUESTS_PER_BOOKING = 3
# One booking-level answer, and two answers per guest.
ANSWERS_PER_BOOKING = 1 + 2 * GUESTS_PER_BOOKING
CLIENTS = 4
# The loop stops once this many mutations were interrupted and this many succeeded.
ENOUGH_INTERRUPTED = 5
ENOUGH_SUCCEEDED = 20

# Backends of the database that are running a statement or sit inside a transaction. The test
# process's own connections are idle meanwhile, so only the server's sessions are terminated.
TERMINATE_BUSY_BACKENDS = """
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = $1 AND pid <> pg_backend_pid() AND state IS DISTINCT FROM 'idle'
"""


def booking_input(departure_id: str, number: int) -> dict[str, Any]:
    return {
        "departure": departure_id,
        # A few buyers book again and again, so the customer row is both inserted and updated.
        "buyer": {"firstName": "Ana", "lastName": "Buyer", "email": f"buyer{number % 3}@ex.com"},
        "guests": [
            {
                "firstName": "Guest",
                "lastName": f"Number {number}-{position}",
                "answers": [
                    {"key": "weight_kg", "value": str(60 + position)},
                    {"key": "dietary_needs", "value": "vegan"},
                ],
            }
            for position in range(GUESTS_PER_BOOKING)
        ],
        "answers": [{"key": "hotel_pickup", "value": f"Hotel {number}"}],
        "totalAmount": "120.00",
    }


class Outcomes:
    def __init__(self) -> None:
        self.references: list[str] = []
        self.interrupted: list[httpx.Response] = []
        self.other: list[httpx.Response] = []

    @property
    def enough(self) -> bool:
        return (
            len(self.interrupted) >= ENOUGH_INTERRUPTED and len(self.references) >= ENOUGH_SUCCEEDED
        )

    def record(self, response: httpx.Response) -> None:
        body = response_body(response)
        booking = ((body.get("data") or {}).get("createBooking") or {}).get("booking")
        if response.status_code == 200 and booking and not body.get("errors"):
            self.references.append(booking["reference"])
        elif error_codes(response) == ["SERVICE_UNAVAILABLE"] and [
            error["message"] for error in body["errors"]
        ] == [DATABASE_UNAVAILABLE_MESSAGE]:
            self.interrupted.append(response)
        else:
            self.other.append(response)


async def keep_booking(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    departure_id: str,
    numbers: "itertools.count[int]",
    outcomes: Outcomes,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        variables = {"input": booking_input(departure_id, next(numbers))}
        response = await client.post(
            "/graphql", json={"query": CREATE_BOOKING, "variables": variables}, headers=headers
        )
        outcomes.record(response)


async def keep_terminating(database: str, stop: asyncio.Event) -> int:
    """Terminate the busy backends of `database` every 10 to 300 ms; return how many."""
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    terminated = 0
    try:
        while not stop.is_set():
            terminated += await admin.fetchval(TERMINATE_BUSY_BACKENDS, database)
            # Irregular pauses, so that terminations land at every step of a mutation and
            # some mutations still get through.
            await asyncio.sleep(random.uniform(0.01, 0.3))
    finally:
        await admin.close()
    return terminated


async def incomplete_bookings() -> list[dict[str, Any]]:
    """Return bookings that miss their buyer, a guest or an answer, with what they have."""
    rows: list[dict[str, Any]] = await connections.get("default").execute_query_dict(
        """
        SELECT b.reference,
          (SELECT count(*) FROM buyer WHERE buyer.booking_id = b.id) AS buyers,
          (SELECT count(*) FROM guest WHERE guest.booking_id = b.id) AS guests,
          (SELECT count(*) FROM custom_field_answer a WHERE a.booking_id = b.id) AS answers
        FROM booking b
        """
    )
    expected = {"buyers": 1, "guests": GUESTS_PER_BOOKING, "answers": ANSWERS_PER_BOOKING}
    return [row for row in rows if {key: row[key] for key in expected} != expected]


async def test_interrupted_bookings_are_whole_or_absent(world: World, db: str, tmp_path: Path):
    require_postgres()
    admin = world.user("alpine", Role.ADMIN)
    departure = await create_departure(
        world.activity,
        datetime(2026, 8, 1, 7, 0, tzinfo=UTC),
        capacity=100_000,
        time_zone="Europe/Zurich",
    )
    departure_id = to_global_id("Departure", departure.id)
    headers = await bearer_headers(admin)
    database = db.rsplit("/", 1)[1]

    with running_server(db, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            # Given clients creating bookings in a loop,
            outcomes = Outcomes()
            stop = asyncio.Event()
            numbers = itertools.count()
            clients = [
                asyncio.create_task(
                    keep_booking(client, headers, departure_id, numbers, outcomes, stop)
                )
                for _ in range(CLIENTS)
            ]
            # when the server's database sessions are terminated again and again,
            terminator = asyncio.create_task(keep_terminating(database, stop))
            try:
                for _ in range(600):
                    if outcomes.enough or terminator.done():
                        break
                    await asyncio.sleep(0.05)
            finally:
                stop.set()
                await asyncio.gather(*clients)
                terminated = await terminator

            # then once the terminations stop, the same server books again.
            last = await client.post(
                "/graphql",
                json={
                    "query": CREATE_BOOKING,
                    "variables": {"input": booking_input(departure_id, -1)},
                },
                headers=headers,
            )

    stored = await connections.get("default").execute_query_dict(
        "SELECT reference FROM booking WHERE departure_id = $1", [departure.id]
    )
    stored_references = {row["reference"] for row in stored}
    last_booking = response_body(last)["data"]["createBooking"]["booking"]
    assert terminated > 0
    assert outcomes.other == [], [response.text for response in outcomes.other]
    assert len(outcomes.interrupted) >= 1, "no mutation was interrupted"
    assert await incomplete_bookings() == []
    assert set(outcomes.references) <= stored_references
    assert last_booking["reference"] in stored_references
