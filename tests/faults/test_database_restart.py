"""PostgreSQL stopping under a running server: clear errors during the outage, then recovery."""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from models.enums import Role
from schema.errors import DATABASE_UNAVAILABLE_MESSAGE
from tests.api.server import running_server
from tests.factories import PASSWORD, World, add_booking
from tests.faults.support import (
    GRAPHQL_RESPONSE_JSON,
    bearer_headers,
    error_codes,
    postgres_stopped,
    require_postgres_control,
    response_body,
)

JSON = "application/json"
MEDIA_TYPES = [JSON, GRAPHQL_RESPONSE_JSON]

# Signing in with the bearer token reads the database before the operation runs.
BOOKINGS = """
query Bookings {
  bookings(first: 10) { totalCount nodes { reference buyer { email } guests { lastName } } }
}
"""

# Without a token, the first database read happens in the resolver, while the operation runs.
LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } }
}
"""

# How long PostgreSQL stays stopped while the clients keep sending requests.
OUTAGE_SECONDS = 1.5


@dataclass(frozen=True)
class Outcome:
    accept: str
    status: int
    body: dict[str, Any]
    codes: list[str]

    @property
    def succeeded(self) -> bool:
        return self.status == 200 and self.body.get("data") is not None and not self.codes

    @property
    def unavailable(self) -> bool:
        return bool(self.codes) and all(code == "SERVICE_UNAVAILABLE" for code in self.codes)

    @property
    def messages(self) -> set[str]:
        return {str(error.get("message")) for error in self.body.get("errors") or []}


class Client:
    def __init__(self, http: httpx.AsyncClient, *, accept: str, token_headers: dict[str, str]):
        self.http = http
        self.accept = accept
        self.token_headers = token_headers

    async def send(self, document: str, variables: dict[str, Any] | None = None) -> Outcome:
        headers = {"Accept": self.accept}
        if document is BOOKINGS:
            headers.update(self.token_headers)
        response = await self.http.post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
        return Outcome(
            self.accept, response.status_code, response_body(response), error_codes(response)
        )


async def keep_sending(
    client: Client,
    document: str,
    variables: dict[str, Any],
    stop: asyncio.Event,
    outcomes: list[Outcome],
) -> None:
    while not stop.is_set():
        outcomes.append(await client.send(document, variables))
        await asyncio.sleep(0.05)


async def test_stopped_database_gives_clear_errors_then_recovers(
    world: World, db: str, tmp_path: Path
):
    require_postgres_control()
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)
    token_headers = await bearer_headers(admin)
    login = {"email": admin.email, "password": PASSWORD}

    with running_server(db, tmp_path) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            clients = [
                Client(http, accept=accept, token_headers=token_headers) for accept in MEDIA_TYPES
            ]

            # Given a server whose pool contains several idle connections,
            warm_up = await asyncio.gather(*(clients[i % 2].send(BOOKINGS) for i in range(8)))

            # when PostgreSQL stops and starts again while clients keep sending requests,
            stop = asyncio.Event()
            during: list[Outcome] = []
            senders = [
                asyncio.create_task(keep_sending(client, document, variables, stop, during))
                for client in clients
                for document, variables in [(BOOKINGS, {}), (BOOKINGS, {}), (LOGIN, login)]
            ]
            try:
                await asyncio.sleep(0.3)
                async with postgres_stopped():
                    await asyncio.sleep(OUTAGE_SECONDS)
            finally:
                stop.set()
                await asyncio.gather(*senders)

            # then the same server process responds to every request once the database is back,
            # one at a time and then more at once than the clients sent during the outage.
            one_by_one = [await client.send(BOOKINGS) for client in clients]
            at_once = await asyncio.gather(*(clients[i % 2].send(BOOKINGS) for i in range(12)))
        still_running = server.process.poll() is None

    failed = [outcome for outcome in during if not outcome.succeeded]
    failed_json = [outcome for outcome in failed if outcome.accept == JSON]
    failed_graphql_response = [outcome for outcome in failed if outcome.accept != JSON]
    assert all(outcome.succeeded for outcome in warm_up), warm_up
    assert failed, "no request failed while PostgreSQL was stopped"
    assert [outcome for outcome in failed if not outcome.unavailable] == []
    assert set().union(*(outcome.messages for outcome in failed)) == {DATABASE_UNAVAILABLE_MESSAGE}
    # Requests that could not sign in never ran: 503 in both media types.
    assert {outcome.status for outcome in failed_json} == {200, 503}
    # Operations that ran and failed: 200 with null data in application/json, 503 without data
    # in application/graphql-response+json.
    assert all("data" in outcome.body for outcome in failed_json if outcome.status == 200)
    assert {outcome.status for outcome in failed_graphql_response} == {503}
    assert all("data" not in outcome.body for outcome in failed_graphql_response)
    assert all(outcome.succeeded for outcome in one_by_one), one_by_one
    assert all(outcome.succeeded for outcome in at_once), at_once
    assert still_running
