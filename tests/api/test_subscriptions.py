"""`exportUpdated` over graphql-transport-ws, with the gql client against the real server.

The server runs no export worker: the test process plays the worker of another process, so the
test decides when each step of the job happens.
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportConnectionFailed, TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.exceptions import InvalidStatus

from api.exports.jobs import run_export
from api.exports.storage import LocalExportStorage
from models.commands.auth import sign_in
from models.commands.exports import (
    ExportOptions,
    claim_next_export,
    record_progress,
    request_export,
)
from models.enums import ExportList, Role
from models.exports import Export
from models.queries.guests import GuestFilter
from models.users import User
from schema.relay import to_global_id
from tests.api.server import Server, running_server
from tests.factories import PASSWORD, World, add_booking, viewer_for

EXPORT_UPDATED = """
subscription ExportUpdated($id: ID!) {
  exportUpdated(id: $id) {
    status
    rowCount
    url
    progress { rowsWritten rowsExpected }
  }
}
"""

MAX_SUBSCRIPTIONS = 2
PORTAL_ORIGIN = "https://portal.example"
# Generous, so a slow machine does not fail the test; each update comes within about 0.5 s.
MESSAGE_TIMEOUT = 15


@pytest.fixture(scope="module")
def server(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(
        database,
        tmp_path_factory.mktemp("subscriptions"),
        TOURDESK_EXPORT_WORKER="false",
        TOURDESK_MAX_SUBSCRIPTIONS_PER_CONNECTION=str(MAX_SUBSCRIPTIONS),
        TOURDESK_ALLOWED_ORIGINS=PORTAL_ORIGIN,
    ) as running:
        yield running


async def token_of(user: User) -> str:
    signed_in = await sign_in(user.email, PASSWORD, token_ttl=timedelta(hours=1))
    return signed_in.token


async def queued_guest_export(user: User) -> Export:
    return await request_export(
        await viewer_for(user),
        ExportList.GUESTS,
        GuestFilter(),
        ExportOptions(),
        retention=timedelta(days=1),
    )


def export_updated(export: Export) -> GraphQLRequest:
    return GraphQLRequest(EXPORT_UPDATED, variable_values={"id": to_global_id("Export", export.id)})


@asynccontextmanager
async def connection(
    server: Server,
    token: str | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[Any]:
    transport = WebsocketsTransport(
        url=server.graphql_ws_url,
        headers=headers,
        init_payload={"Authorization": f"Bearer {token}"} if token else {},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport) as session:
        yield session


async def next_update(updates: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    update = await asyncio.wait_for(anext(updates), MESSAGE_TIMEOUT)
    result: dict[str, Any] = update["exportUpdated"]
    return result


async def remaining_updates(updates: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    """Read updates until the server completes the subscription."""
    received = []
    while True:
        try:
            received.append(await next_update(updates))
        except StopAsyncIteration:
            return received


async def test_subscriber_follows_export_until_done(world: World, server: Server, tmp_path: Path):
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)
    export = await queued_guest_export(admin)

    async with connection(server, await token_of(admin)) as session:
        updates = session.subscribe(export_updated(export))
        queued = await next_update(updates)
        claimed = await claim_next_export("test-worker")
        assert claimed is not None
        running = await next_update(updates)
        await record_progress(claimed, 1, 2)
        progressed = await next_update(updates)
        await run_export(claimed, LocalExportStorage(tmp_path / "exports"))
        finished = await remaining_updates(updates)

    assert queued["status"] == "QUEUED"
    assert running["status"] == "RUNNING"
    assert progressed["progress"] == {"rowsWritten": 1, "rowsExpected": 2}
    assert finished[-1]["status"] == "DONE"
    assert finished[-1]["rowCount"] == 1
    assert finished[-1]["url"].startswith(f"{server.base_url}/exports/{export.id}/download?")


async def test_subscriber_sees_failure_and_completion(world: World, server: Server):
    admin = world.user("alpine", Role.ADMIN)
    export = await queued_guest_export(admin)
    await Export.filter(id=export.id).update(status="FAILED", error="Disk full.")

    async with connection(server, await token_of(admin)) as session:
        received = await remaining_updates(session.subscribe(export_updated(export)))

    assert [update["status"] for update in received] == ["FAILED"]


async def test_token_in_handshake_header_signs_in(world: World, server: Server):
    admin = world.user("alpine", Role.ADMIN)
    export = await queued_guest_export(admin)
    headers = {"Authorization": f"Bearer {await token_of(admin)}"}

    async with connection(server, headers=headers) as session:
        update = await next_update(session.subscribe(export_updated(export)))

    assert update["status"] == "QUEUED"


@pytest.mark.parametrize(
    ("organization", "signed_in", "code"),
    [
        ("lakeside", True, "NOT_FOUND"),
        ("alpine", False, "UNAUTHENTICATED"),
    ],
    ids=["other-organization", "no-token"],
)
async def test_subscription_without_access_fails(
    world: World, server: Server, organization: str, signed_in: bool, code: str
):
    export = await queued_guest_export(world.user("alpine", Role.ADMIN))
    token = await token_of(world.user(organization, Role.ADMIN)) if signed_in else None

    async with connection(server, token) as session:
        with pytest.raises(TransportQueryError) as raised:
            await next_update(session.subscribe(export_updated(export)))

    assert raised.value.errors is not None
    assert raised.value.errors[0]["extensions"]["code"] == code


async def test_subscription_beyond_limit_is_rejected(world: World, server: Server):
    admin = world.user("alpine", Role.ADMIN)
    export = await queued_guest_export(admin)

    async with connection(server, await token_of(admin)) as session:
        open_updates = [session.subscribe(export_updated(export)) for _ in range(MAX_SUBSCRIPTIONS)]
        first_updates = [await next_update(updates) for updates in open_updates]
        with pytest.raises(TransportQueryError) as raised:
            await next_update(session.subscribe(export_updated(export)))
        for updates in open_updates:
            await updates.aclose()

    assert [update["status"] for update in first_updates] == ["QUEUED"] * MAX_SUBSCRIPTIONS
    assert raised.value.errors is not None
    assert f"already runs {MAX_SUBSCRIPTIONS} operations" in raised.value.errors[0]["message"]


async def test_connection_from_other_site_is_rejected(world: World, server: Server):
    admin = world.user("alpine", Role.ADMIN)
    token = await token_of(admin)

    with pytest.raises(TransportConnectionFailed) as raised:
        async with connection(server, token, headers={"Origin": "https://attacker.example"}):
            pass

    refusal = raised.value.__cause__
    assert isinstance(refusal, InvalidStatus)
    assert refusal.response.status_code == 403


@pytest.mark.parametrize(
    "origin",
    [PORTAL_ORIGIN, "same-origin"],
    ids=["allowed-origin", "same-origin"],
)
async def test_connection_from_allowed_origin_is_accepted(
    world: World, server: Server, origin: str
):
    admin = world.user("alpine", Role.ADMIN)
    export = await queued_guest_export(admin)
    headers = {"Origin": server.base_url if origin == "same-origin" else origin}

    async with connection(server, await token_of(admin), headers=headers) as session:
        update = await next_update(session.subscribe(export_updated(export)))

    assert update["status"] == "QUEUED"
