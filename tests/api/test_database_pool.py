"""The PostgreSQL pool of one server process: a request waits for a connection, then gives up."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest

from models.enums import Role
from tests.api.server import Server, running_server
from tests.conftest import BACKEND
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres", reason="the connection pool belongs to the PostgreSQL client"
)

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code message } }
}
"""

POOL_TIMEOUT_SECONDS = 0.5
# Generous, so a slow machine does not fail the test.
WAIT_SECONDS = 20


@pytest.fixture
def server(db: str, tmp_path: Path) -> Iterator[Server]:
    """A server with a pool of one connection, and no export worker to take it."""
    with running_server(
        db,
        tmp_path,
        TOURDESK_DATABASE_POOL_SIZE="1",
        TOURDESK_DATABASE_POOL_TIMEOUT=str(POOL_TIMEOUT_SECONDS),
        TOURDESK_EXPORT_WORKER="false",
    ) as running:
        yield running


def postgresql_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


@asynccontextmanager
async def users_locked(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Hold a lock on the users table, so a sign-in blocks while it holds its connection."""
    connection = await asyncpg.connect(postgresql_url(database_url))
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE app_user IN ACCESS EXCLUSIVE MODE")
            yield connection
    finally:
        await connection.close()


async def wait_for_blocked_query(connection: asyncpg.Connection) -> None:
    """Return once another session of this database waits for a lock."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        # Inside a transaction PostgreSQL keeps showing the first view of the activity.
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        if waiting:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"No query waited for the lock within {WAIT_SECONDS} s")


def sign_in(client: httpx.AsyncClient, email: str) -> "asyncio.Future[httpx.Response]":
    variables = {"email": email, "password": PASSWORD}
    return asyncio.ensure_future(
        client.post("/graphql", json={"query": LOGIN, "variables": variables})
    )


async def test_busy_pool_returns_service_unavailable(db: str, world: World, server: Server):
    admin = world.user("alpine", Role.ADMIN)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=WAIT_SECONDS) as client:
        # Given a sign-in that holds the only connection, waiting for a lock
        async with users_locked(db) as locker:
            blocked = sign_in(client, admin.email)
            await wait_for_blocked_query(locker)

            # When another request needs a connection
            busy = await sign_in(client, admin.email)

        # Then it fails after the pool timeout, and the blocked one finishes once unlocked
        unblocked = await blocked
        after = await sign_in(client, admin.email)

    error = busy.json()["errors"][0]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"] == (
        f"The one database connection of this process is busy; waited {POOL_TIMEOUT_SECONDS:g} s. "
        "Retry, or raise TOURDESK_DATABASE_POOL_SIZE (see docs/deployment.md)."
    )
    assert unblocked.json()["data"]["login"]["token"]
    assert after.json()["data"]["login"]["token"]
    assert "No free database connection within 0.5 s; 1 of 1 in use" in server.log()
