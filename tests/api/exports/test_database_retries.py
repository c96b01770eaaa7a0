"""Export jobs that a busy or unreachable database interrupts go back to the queue, a few times."""

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from api.exports.jobs import RowsWritten, is_file_error, run_export, write_rows
from api.exports.storage import ExportStorage, LocalExportStorage
from api.exports.worker import ExportWorker, wait_for_export
from models.access import Viewer
from models.commands.exports import (
    MAX_DATABASE_RETRIES,
    ExportOptions,
    claim_next_export,
    request_export,
)
from models.config import tortoise_config
from models.enums import ExportList, ExportStatus, Role
from models.exports import Export
from models.postgres_pool import DatabaseBusy
from models.queries.guests import GuestFilter
from tests.conftest import BACKEND
from tests.factories import World, add_booking, viewer_for

RETRY_DELAY = timedelta(minutes=1)
POOL_TIMEOUT_SECONDS = 0.5
# Generous, so a slow machine does not fail the test.
WAIT_SECONDS = 20


def sqlite_locked() -> Exception:
    """Return the error Tortoise raises when another writer keeps SQLite locked too long."""
    error = OperationalError("database is locked")
    error.__cause__ = sqlite3.OperationalError("database is locked")
    return error


DATABASE_ERRORS = {
    "busy": DatabaseBusy(pool_size=1, waited_seconds=POOL_TIMEOUT_SECONDS),
    "unreachable": ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    "locked": sqlite_locked(),
}

FINAL_REASONS = {
    "busy": (
        f"The server's database connections stayed busy through {MAX_DATABASE_RETRIES + 1} "
        "runs of this export; ask an administrator to raise TOURDESK_DATABASE_POOL_SIZE (see "
        "docs/deployment.md), then request the export again."
    ),
    "unreachable": (
        f"The database could not be reached through {MAX_DATABASE_RETRIES + 1} runs of this "
        "export; ask an administrator to check that the database server is running and "
        "reachable, then request the export again."
    ),
    "locked": (
        f"Other writes kept the database locked through {MAX_DATABASE_RETRIES + 1} runs of this "
        "export; request it again when fewer bookings are being written, or ask an "
        "administrator to move the server to PostgreSQL (see docs/deployment.md)."
    ),
}


@pytest.fixture
async def admin(world: World) -> Viewer:
    for index in range(6):
        await add_booking(
            seller=world.alpine, departure=world.departure, guests=[("Guest", f"N{index:02d}")]
        )
    return await viewer_for(world.user("alpine", Role.ADMIN))


@pytest.fixture
def worker(storage: LocalExportStorage) -> ExportWorker:
    return ExportWorker(storage, retry_delay=RETRY_DELAY)


async def queue_export(viewer: Viewer) -> Export:
    return await request_export(
        viewer, ExportList.GUESTS, GuestFilter(), ExportOptions(), retention=timedelta(days=7)
    )


def files_in(storage: LocalExportStorage) -> list[Path]:
    if not storage.root.exists():
        return []
    return sorted(path for path in storage.root.rglob("*") if path.is_file())


def interrupt_first_runs(monkeypatch: pytest.MonkeyPatch, error: BaseException, runs: int) -> None:
    """Make the next `runs` exports raise `error` once their first rows are in the file."""
    monkeypatch.setattr("api.exports.jobs.BATCH_SIZE", 2)
    remaining = [runs]

    async def interrupted_rows(*arguments: Any, report: RowsWritten) -> int:
        if remaining[0] == 0:
            return await write_rows(*arguments, report=report)
        remaining[0] -= 1

        async def report_then_fail(written: int) -> None:
            await report(written)
            raise error

        return await write_rows(*arguments, report=report_then_fail)

    monkeypatch.setattr("api.exports.jobs.write_rows", interrupted_rows)


async def make_claimable(export: Export) -> None:
    """Let the retry delay of a queued job pass."""
    await Export.filter(id=export.id).update(retry_after=datetime.now(UTC) - timedelta(seconds=1))


@pytest.mark.parametrize("trouble", list(DATABASE_ERRORS))
async def test_interrupted_job_goes_back_to_queue(admin, storage, worker, monkeypatch, trouble):
    export = await queue_export(admin)
    interrupt_first_runs(monkeypatch, DATABASE_ERRORS[trouble], runs=1)
    before = datetime.now(UTC)

    await worker.run_next()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.QUEUED
    assert row.error == ""
    assert row.attempts == 0
    assert row.database_retries == 1
    assert row.retry_after is not None
    assert row.retry_after >= before + RETRY_DELAY
    assert (row.claimed_by, row.storage_key, row.rows_written) == ("", "", 0)
    assert files_in(storage) == []


async def test_queued_job_waits_out_retry_delay(admin, storage, worker, monkeypatch):
    export = await queue_export(admin)
    interrupt_first_runs(monkeypatch, DATABASE_ERRORS["busy"], runs=1)
    await worker.run_next()

    during_delay = await claim_next_export("another-worker")
    await make_claimable(export)
    ran = await worker.run_next()

    row = await Export.get(id=export.id)
    assert during_delay is None
    assert ran is True
    assert row.status is ExportStatus.DONE
    assert row.rows_written == 6
    assert row.attempts == 1
    assert files_in(storage) == [storage.path(row.storage_key)]


async def test_retry_delay_doubles(admin, worker, monkeypatch):
    export = await queue_export(admin)
    interrupt_first_runs(monkeypatch, DATABASE_ERRORS["unreachable"], runs=2)
    await worker.run_next()
    await make_claimable(export)
    before = datetime.now(UTC)

    await worker.run_next()

    row = await Export.get(id=export.id)
    assert row.database_retries == 2
    assert row.retry_after is not None
    assert row.retry_after >= before + 2 * RETRY_DELAY


@pytest.mark.parametrize("trouble", list(DATABASE_ERRORS))
async def test_job_fails_after_last_database_retry(admin, storage, worker, monkeypatch, trouble):
    export = await queue_export(admin)
    await Export.filter(id=export.id).update(database_retries=MAX_DATABASE_RETRIES)
    interrupt_first_runs(monkeypatch, DATABASE_ERRORS[trouble], runs=1)

    await worker.run_next()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.FAILED
    assert row.error == FINAL_REASONS[trouble]
    assert files_in(storage) == []


async def test_worker_runs_job_again_after_retry_delay(admin, storage, monkeypatch):
    export = await queue_export(admin)
    interrupt_first_runs(monkeypatch, DATABASE_ERRORS["busy"], runs=1)
    # It polls once a minute, so only the end of the retry delay can start the second run.
    worker = ExportWorker(storage, poll_interval=60, retry_delay=timedelta(seconds=0.2))

    await worker.start()
    try:
        row = await wait_for_export(export.id, timedelta(seconds=WAIT_SECONDS))
    finally:
        await worker.stop()

    assert row.status is ExportStatus.DONE
    assert row.database_retries == 1


@pytest.mark.parametrize(
    ("error", "is_file"),
    [
        (OSError(28, "No space left on device"), True),
        (PermissionError(13, "Permission denied"), True),
        (ConnectionRefusedError(111, "Connect call failed"), False),
        (ConnectionResetError(104, "Connection reset by peer"), False),
        (TimeoutError(), False),
        (OSError("Multiple exceptions: [Errno 111] Connect call failed"), False),
    ],
    ids=["disk-full", "permission", "refused", "reset", "timeout", "multiple"],
)
def test_file_errors_told_from_connection_errors(error: OSError, is_file: bool):
    assert is_file_error(error) is is_file


# A real pool of one connection, held by another task of the process while the export runs.


class BusyPoolWarning(logging.Handler):
    """Set an event when the pool reports that a request waited in vain for a connection."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.logged = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("No free database connection"):
            self.logged.set()


@pytest.fixture
async def pool_of_one(db: str) -> AsyncIterator[BusyPoolWarning]:
    """Connect through a pool of one connection for the test, and hear when it is busy."""
    if BACKEND != "postgres":
        pytest.skip("the connection pool belongs to the PostgreSQL client")
    await Tortoise.close_connections()
    config = tortoise_config(db, pool_size=1, pool_timeout_seconds=POOL_TIMEOUT_SECONDS)
    await Tortoise.init(config=config, _enable_global_fallback=True)
    warning = BusyPoolWarning()
    pool_logger = logging.getLogger("models.postgres_pool")
    pool_logger.addHandler(warning)
    try:
        yield warning
    finally:
        pool_logger.removeHandler(warning)
        await Tortoise.close_connections()
        await Tortoise.init(config=tortoise_config(db), _enable_global_fallback=True)


async def hold_the_connection(taken: asyncio.Event, release: asyncio.Event) -> None:
    """Keep the pool's one connection in a transaction until `release` is set."""
    async with in_transaction() as transaction:
        await transaction.execute_query("SELECT 1")
        taken.set()
        await release.wait()


def run_with_pool_taken(
    release: asyncio.Event, holders: list["asyncio.Task[None]"]
) -> Callable[[Export, ExportStorage], Awaitable[None]]:
    """Run exports once another task took the pool's connection, until `release` is set."""

    async def run(export: Export, storage: ExportStorage) -> None:
        taken = asyncio.Event()
        holders.append(asyncio.create_task(hold_the_connection(taken, release)))
        await taken.wait()
        await run_export(export, storage)

    return run


async def run_while_pool_is_busy(
    worker: ExportWorker, busy: BusyPoolWarning, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the next job while the pool is busy, freeing it once the job waited in vain."""
    holders: list[asyncio.Task[None]] = []
    monkeypatch.setattr("api.exports.worker.run_export", run_with_pool_taken(busy.logged, holders))

    await asyncio.wait_for(worker.run_next(), WAIT_SECONDS)

    await asyncio.gather(*holders)
    monkeypatch.setattr("api.exports.worker.run_export", run_export)


async def test_job_finishes_once_busy_pool_frees_up(
    admin, storage, worker, pool_of_one, monkeypatch
):
    export = await queue_export(admin)

    await run_while_pool_is_busy(worker, pool_of_one, monkeypatch)
    queued = await Export.get(id=export.id)
    await make_claimable(export)
    await worker.run_next()

    row = await Export.get(id=export.id)
    assert queued.status is ExportStatus.QUEUED
    assert queued.error == ""
    assert queued.database_retries == 1
    assert row.status is ExportStatus.DONE
    assert row.rows_written == 6
    assert files_in(storage) == [storage.path(row.storage_key)]


async def test_job_fails_when_pool_stays_busy(admin, storage, worker, pool_of_one, monkeypatch):
    export = await queue_export(admin)
    await Export.filter(id=export.id).update(database_retries=MAX_DATABASE_RETRIES)

    await run_while_pool_is_busy(worker, pool_of_one, monkeypatch)

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.FAILED
    assert row.error == FINAL_REASONS["busy"]
    assert files_in(storage) == []


async def test_heartbeat_goes_on_after_busy_pool(admin, storage, pool_of_one, caplog):
    export = await queue_export(admin)
    worker = ExportWorker(storage, stale_after=timedelta(seconds=2))
    claimed = await claim_next_export(worker.worker_id)
    assert claimed is not None
    release = asyncio.Event()
    taken = asyncio.Event()
    holder = asyncio.create_task(hold_the_connection(taken, release))
    await taken.wait()

    # The pool stays busy through the first beat, 0.5 s after the start.
    beat = asyncio.create_task(worker._beat(export.id))
    await asyncio.wait_for(pool_of_one.logged.wait(), WAIT_SECONDS)
    release.set()
    await holder
    freed_at = datetime.now(UTC)
    await asyncio.sleep(1.5)
    is_beating = not beat.done()
    beat.cancel()

    row = await Export.get(id=export.id)
    assert is_beating
    assert row.heartbeat_at is not None
    assert row.heartbeat_at > freed_at
    assert f"Export {export.id} missed a heartbeat" in caplog.text
