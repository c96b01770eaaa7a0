"""Signing in over WebSocket while the database is unavailable: the meaning of HTTP's 503.

The server's database is a PostgreSQL URL on a closed loopback port, whichever backend the other
tests use, so every sign-in fails to reach it.
"""

import asyncio
import json
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close
from websockets.typing import Subprotocol

from models.commands.auth import TOKEN_PREFIX
from schema.errors import DATABASE_UNAVAILABLE_MESSAGE
from tests.api.server import Server, free_port, running_server

TOKEN = f"{TOKEN_PREFIX}a-token-that-only-the-database-can-check"
TRY_AGAIN_LATER = 1013
# Generous, so a slow machine does not fail the test; a refused connection fails at once.
CLOSE_TIMEOUT = 15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    unreachable = f"postgres://postgres@127.0.0.1:{free_port()}/tourdesk"
    with running_server(unreachable, tmp_path_factory.mktemp("outage")) as running:
        yield running


async def close_after_connection_init(
    server: Server, payload: dict[str, str], headers: dict[str, str]
) -> Close | None:
    """Open a graphql-transport-ws connection, send `connection_init` and return the close."""
    async with connect(
        server.graphql_ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers=headers,
    ) as websocket:
        await websocket.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(websocket.recv(), CLOSE_TIMEOUT)
    return closed.value.rcvd


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        ({"Authorization": f"Bearer {TOKEN}"}, {}),
        ({}, {"Authorization": f"Bearer {TOKEN}"}),
    ],
    ids=["token-in-connection-init", "token-in-handshake-header"],
)
async def test_outage_closes_with_try_again_later(
    server: Server, payload: dict[str, str], headers: dict[str, str]
):
    close = await close_after_connection_init(server, payload, headers)

    assert close is not None
    assert close.code == TRY_AGAIN_LATER
    assert close.reason == DATABASE_UNAVAILABLE_MESSAGE
    assert "Exception in ASGI application" not in server.log()


async def test_outage_is_logged_as_outage(server: Server):
    await close_after_connection_init(server, {"Authorization": f"Bearer {TOKEN}"}, {})

    assert "The database is unavailable: signing in a WebSocket connection failed" in server.log()
