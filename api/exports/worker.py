"""The export worker: runs queued export jobs inside the server process.

Jobs are rows in the database, so any number of processes can run a worker: each job is claimed
atomically and runs once. A job whose process died is taken over after its heartbeat goes stale.
"""

import asyncio
import contextlib
import logging
import os
import socket
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from enum import Enum

from api.exports.jobs import run_export
from api.exports.storage import ExportStorage
from api.metrics import record_export_job
from models.commands.exports import (
    MAX_DATABASE_RETRIES,
    claim_next_export,
    expire_exports,
    fail_export,
    queue_again_after_database_error,
    recover_stale_exports,
    running_storage_keys,
)
from models.enums import ExportStatus
from models.exports import Export
from models.postgres_pool import DatabaseBusy
from schema.errors import is_database_unavailable

logger = logging.getLogger(__name__)

FINISHED = (ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.EXPIRED)

# The maximum wait in the queue between two runs of a job that the database interrupted.
MAX_RETRY_DELAY = timedelta(minutes=2)


class DatabaseInterruption(Enum):
    """The reason the database stopped a job for a while, as opposed to a fault of the job."""

    # Every connection of this process's pool stayed in use for the whole acquire timeout.
    BUSY = "busy"
    # SQLite: another writer held the database for longer than the busy timeout.
    LOCKED = "locked"
    # The server could not be reached, or it ended the session.
    UNREACHABLE = "unreachable"


def database_interruption(error: BaseException) -> DatabaseInterruption | None:
    """Return why the database stopped a job, or None when the error is not the database's."""
    chain = _error_chain(error)
    if any(isinstance(link, DatabaseBusy) for link in chain):
        return DatabaseInterruption.BUSY
    if any(_is_sqlite_locked(link) for link in chain):
        return DatabaseInterruption.LOCKED
    if is_database_unavailable(error):
        return DatabaseInterruption.UNREACHABLE
    return None


def _error_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    return chain


def _is_sqlite_locked(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and str(error) == "database is locked"


def database_failure_reason(kind: DatabaseInterruption, runs: int) -> str:
    """Explain to the requester why a job failed after its last database retry, and what helps."""
    if kind is DatabaseInterruption.BUSY:
        return (
            f"The server's database connections stayed busy through {runs} runs of this export; "
            "ask an administrator to raise TOURDESK_DATABASE_POOL_SIZE (see "
            "docs/deployment.md), then request the export again."
        )
    if kind is DatabaseInterruption.LOCKED:
        return (
            f"Other writes kept the database locked through {runs} runs of this export; request "
            "it again when fewer bookings are being written, or ask an administrator to move "
            "the server to PostgreSQL (see docs/deployment.md)."
        )
    return (
        f"The database could not be reached through {runs} runs of this export; ask an "
        "administrator to check that the database server is running and reachable, then "
        "request the export again."
    )


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{os.urandom(3).hex()}"


class ExportWorker:
    def __init__(
        self,
        storage: ExportStorage,
        *,
        stale_after: timedelta = timedelta(seconds=60),
        sweep_interval: timedelta = timedelta(minutes=10),
        poll_interval: float = 2.0,
        retry_delay: timedelta = timedelta(seconds=5),
    ) -> None:
        self.storage = storage
        self.worker_id = new_worker_id()
        self.stale_after = stale_after
        self.sweep_interval = sweep_interval
        self.poll_interval = poll_interval
        # How long a job the database interrupted waits in the queue; doubled on each retry.
        self.retry_delay = retry_delay
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        """Look for queued jobs now instead of at the next poll."""
        self._wakeup.set()

    async def start(self) -> None:
        try:
            await self.sweep()
        except Exception:
            # A database that is down or not migrated yet must not keep the server from
            # starting: /readyz reports it, and the job loop retries.
            logger.exception("Export sweep at the start of worker %s failed", self.worker_id)
        self._tasks = [
            asyncio.create_task(self._run_jobs(), name="export-jobs"),
            asyncio.create_task(self._sweep_periodically(), name="export-sweep"),
        ]
        logger.info("Export worker %s started", self.worker_id)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        # A job interrupted by a clean shutdown goes back to the queue at once, without
        # waiting for its heartbeat to go stale.
        try:
            requeued = await Export.filter(
                claimed_by=self.worker_id, status=ExportStatus.RUNNING
            ).update(status=ExportStatus.QUEUED, claimed_by="", rows_written=0, storage_key="")
        except Exception:
            # Its jobs are taken over once their heartbeat is stale.
            logger.exception(
                "Export worker %s stopped without queuing its jobs again", self.worker_id
            )
            return
        logger.info("Export worker %s stopped, %s jobs queued again", self.worker_id, requeued)

    async def run_next(self) -> bool:
        """Claim and run one queued export; return False when none was queued."""
        export = await claim_next_export(self.worker_id)
        if export is None:
            return False
        heartbeat = asyncio.create_task(self._beat(export.id))
        started = time.perf_counter()
        try:
            await self._run(export)
        finally:
            heartbeat.cancel()
        await _record_outcome(export.id, time.perf_counter() - started)
        return True

    async def _run(self, export: Export) -> None:
        try:
            await run_export(export, self.storage)
        except Exception as error:
            kind = database_interruption(error)
            if kind is not None:
                await self._retry_later(export, kind, error)
                return
            logger.exception("Export %s failed with an unexpected error", export.id)
            await fail_export(
                export,
                "An unexpected error stopped the export; the server log has the details.",
            )

    async def _retry_later(
        self, export: Export, kind: DatabaseInterruption, error: Exception
    ) -> None:
        """Queue a job the database interrupted again after a delay, or fail it after the last try.

        Its partial file is gone already: storage removes it when the writing fails.
        """
        retries = export.database_retries
        logger.warning(
            "Export %s stopped because the database is %s, after %s retries: %s: %s",
            export.id,
            kind.value,
            retries,
            type(error).__name__,
            error,
        )
        delay = min(self.retry_delay * 2**retries, MAX_RETRY_DELAY)
        try:
            if retries >= MAX_DATABASE_RETRIES:
                await fail_export(export, database_failure_reason(kind, retries + 1))
                return
            retry_after = datetime.now(UTC) + delay
            if not await queue_again_after_database_error(export, retry_after=retry_after):
                return
        except Exception:
            # The job stays RUNNING without a heartbeat, so a sweep takes it over once it is
            # stale, as if this process had stopped.
            logger.exception("Export %s could be neither queued again nor failed", export.id)
            return
        logger.info("Export %s queued again, to run in %s s", export.id, delay.total_seconds())
        asyncio.get_running_loop().call_later(delay.total_seconds(), self.wake)

    async def _beat(self, export_id: int) -> None:
        interval = max(self.stale_after.total_seconds() / 4, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                await Export.filter(id=export_id, claimed_by=self.worker_id).update(
                    heartbeat_at=datetime.now(UTC)
                )
            except Exception as error:
                if database_interruption(error) is None:
                    raise
                # Beating stops only with the job: a job is taken over after several missed
                # beats, and the database may serve the next one.
                logger.warning("Export %s missed a heartbeat: %s", export_id, error)

    async def _run_jobs(self) -> None:
        failures_in_a_row = 0
        while True:
            try:
                while await self.run_next():
                    pass
                failures_in_a_row = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database may be away for a while; keep the worker alive and retry, logging
                # the first failure with its traceback and then one line per 30 failed polls.
                failures_in_a_row += 1
                if failures_in_a_row == 1:
                    logger.exception("Export worker %s could not claim a job", self.worker_id)
                elif failures_in_a_row % 30 == 0:
                    logger.warning(
                        "Export worker %s still cannot claim jobs after %s tries",
                        self.worker_id,
                        failures_in_a_row,
                    )
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_interval)

    async def _sweep_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval.total_seconds())
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Export sweep of worker %s failed", self.worker_id)

    async def sweep(self) -> None:
        """Take over stale jobs, delete expired files and partial files of dead processes."""
        requeued, failed = await recover_stale_exports(self.stale_after)
        if requeued:
            self.wake()
        for export in await expire_exports():
            self.storage.delete(export.storage_key)
            logger.info("Export %s expired and its file was deleted", export.id)
        fresh_after = datetime.now(UTC) - self.stale_after
        self.storage.remove_stale_partials(
            self.stale_after.total_seconds(), keep=await running_storage_keys(fresh_after)
        )
        if requeued or failed:
            logger.info("Export sweep: %s jobs queued again, %s failed", requeued, failed)


async def _record_outcome(export_id: int, seconds: float) -> None:
    export = await Export.get_or_none(id=export_id)
    # Another worker may have taken the job over meanwhile; its run is the one that counts.
    if export is not None and export.status in {ExportStatus.DONE, ExportStatus.FAILED}:
        record_export_job(export.status, seconds)


async def wait_for_export(export_id: int, wait: timedelta) -> Export:
    """Poll an export until it finishes or `wait` passes, and return its latest state."""
    deadline = asyncio.get_running_loop().time() + wait.total_seconds()
    delay = 0.02
    while True:
        export = await Export.get(id=export_id)
        if export.status in FINISHED or asyncio.get_running_loop().time() >= deadline:
            return export
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
