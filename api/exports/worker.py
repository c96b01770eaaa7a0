"""The export worker: runs queued export jobs inside the server process.

Jobs are rows in the database, so any number of processes can run a worker: each job is claimed
atomically and runs once. A job whose process died is taken over after its heartbeat goes stale.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta

from api.exports.jobs import run_export
from api.exports.storage import ExportStorage
from api.metrics import record_export_job
from models.commands.exports import (
    claim_next_export,
    expire_exports,
    fail_export,
    recover_stale_exports,
    running_storage_keys,
)
from models.enums import ExportStatus
from models.exports import Export

logger = logging.getLogger(__name__)

FINISHED = (ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.EXPIRED)


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
    ) -> None:
        self.storage = storage
        self.worker_id = new_worker_id()
        self.stale_after = stale_after
        self.sweep_interval = sweep_interval
        self.poll_interval = poll_interval
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
            await run_export(export, self.storage)
        except Exception:
            logger.exception("Export %s failed with an unexpected error", export.id)
            await fail_export(
                export,
                "An unexpected error stopped the export; the server log has the details.",
            )
        finally:
            heartbeat.cancel()
        await _record_outcome(export.id, time.perf_counter() - started)
        return True

    async def _beat(self, export_id: int) -> None:
        interval = max(self.stale_after.total_seconds() / 4, 0.5)
        while True:
            await asyncio.sleep(interval)
            await Export.filter(id=export_id, claimed_by=self.worker_id).update(
                heartbeat_at=datetime.now(UTC)
            )

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
