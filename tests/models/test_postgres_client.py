"""Transactions on PostgreSQL sessions that the server terminated."""

import asyncio
import logging
import threading
import time

import asyncpg
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.organizations import Organization
from models.postgres_client import can_send_again, is_unsent
from models.postgres_pool import DatabaseBusy
from tests.conftest import BACKEND, POSTGRES_URL

# More than the 5 connections of Tortoise's default pool: a slot lost per round would exhaust it.
ROUNDS = 6

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres", reason="The client concerns PostgreSQL sessions."
)


async def terminate_sessions(database: str) -> int:
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    try:
        terminated: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await admin.close()
    return terminated


async def end_pooled_sessions(database: str) -> None:
    """End the sessions of the pool's idle connections without the event loop noticing."""
    await Organization.all().count()
    # Blocking on purpose: another thread ends the sessions while this event loop waits, so the
    # loop reads the closed sockets only at the next statement, as after an idle server restarts.
    ending = threading.Thread(target=asyncio.run, args=(terminate_sessions(database),))
    ending.start()
    ending.join()
    time.sleep(0.2)  # noqa: ASYNC251


async def test_transaction_after_sessions_ended(db: str, caplog: pytest.LogCaptureFixture):
    database = db.rsplit("/", 1)[1]
    client = connections.get("default")
    caplog.set_level(logging.INFO, logger="models.postgres_client")

    counts = []
    for _ in range(ROUNDS):
        await end_pooled_sessions(database)
        async with asyncio.timeout(10), in_transaction():
            counts.append(await Organization.all().count())

    assert counts == [0] * ROUNDS
    assert connections.get("default") is client
    assert any("trying another" in record.getMessage() for record in caplog.records)


async def test_statement_after_sessions_ended(db: str, caplog: pytest.LogCaptureFixture):
    database = db.rsplit("/", 1)[1]
    caplog.set_level(logging.INFO, logger="models.postgres_client")

    counts = []
    for _ in range(ROUNDS):
        await end_pooled_sessions(database)
        async with asyncio.timeout(10):
            counts.append(await Organization.all().count())

    assert counts == [0] * ROUNDS
    assert any("trying another" in record.getMessage() for record in caplog.records)


def test_unsent_errors():
    assert is_unsent(asyncpg.InternalClientError("cannot switch to state 12; another operation"))
    assert is_unsent(asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"))
    assert not is_unsent(asyncpg.InternalClientError("got result for unknown protocol state 3"))
    assert not is_unsent(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle"))
    assert not is_unsent(asyncpg.InterfaceError("another operation is in progress"))


def test_lost_session_sends_reads_again_only():
    lost = asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    assert can_send_again(lost, is_read=True)
    assert not can_send_again(lost, is_read=False)
    assert not can_send_again(asyncpg.UniqueViolationError("duplicate key"), is_read=True)


def test_busy_pool_is_not_tried_again():
    busy = DatabaseBusy(pool_size=1, waited_seconds=0.5)

    assert not can_send_again(busy, is_read=True)
