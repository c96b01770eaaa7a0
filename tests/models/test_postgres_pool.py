"""The bounded wait for a pooled PostgreSQL connection, and how the API reports a busy pool."""

import asyncio

import pytest
from graphql import GraphQLError
from tortoise.backends.base.config_generator import expand_db_url

from models.postgres_pool import BoundedWaitClient, DatabaseBusy
from schema.errors import error_code, is_unexpected
from tests.conftest import BACKEND


@pytest.mark.parametrize(
    ("pool_size", "waited", "message"),
    [
        pytest.param(
            1,
            0.5,
            "The one database connection of this process is busy; waited 0.5 s. Retry, or raise "
            "TOURDESK_DATABASE_POOL_SIZE (see docs/deployment.md).",
            id="one",
        ),
        pytest.param(
            10,
            10.0,
            "All 10 database connections of this process are busy; waited 10 s. Retry, or raise "
            "TOURDESK_DATABASE_POOL_SIZE (see docs/deployment.md).",
            id="several",
        ),
    ],
)
def test_database_busy_message(pool_size: int, waited: float, message: str):
    assert str(DatabaseBusy(pool_size, waited)) == message


def test_database_busy_is_service_unavailable():
    error = GraphQLError("busy", path=["bookings"], original_error=DatabaseBusy(3, 1.0))

    assert error_code(error) == "SERVICE_UNAVAILABLE"
    assert not is_unexpected(error)


@pytest.mark.skipif(BACKEND != "postgres", reason="the pool belongs to the PostgreSQL client")
async def test_acquire_gives_up_after_timeout(database: str):
    credentials = expand_db_url(database)["credentials"]
    client = BoundedWaitClient(
        connection_name="pool_test", **credentials, minsize=1, maxsize=1, acquire_timeout=0.2
    )
    await client.create_connection(with_db=True)
    try:
        # Given the only connection in use
        async with client.acquire_connection():
            # When another statement needs one
            with pytest.raises(DatabaseBusy) as busy:
                await client.execute_query("SELECT 1")

        # Then it fails after the timeout, and the pool serves again once the connection is back
        rows = await asyncio.wait_for(client.execute_query("SELECT 1"), timeout=5)
    finally:
        await client.close()

    assert busy.value.pool_size == 1
    assert busy.value.waited_seconds == 0.2
    assert rows[0] == 1
