"""Export jobs as rows: claiming, concurrency, interruption, stale jobs, sweeps and failures."""

import asyncio
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.exports.jobs import RowsWritten, write_rows
from api.exports.storage import LocalExportStorage
from api.exports.worker import ExportWorker
from models.access import Viewer
from models.bookings import Booking
from models.commands.exports import (
    MAX_ATTEMPTS,
    ExportOptions,
    claim_next_export,
    recover_stale_exports,
    request_export,
)
from models.enums import ExportList, ExportStatus, Role
from models.exports import Export
from models.queries.customers import CustomerFilter
from models.queries.export_filters import ListFilter
from models.queries.guests import GuestFilter
from models.queries.users import UserFilter
from models.users import User, UserRole
from schema.relay import from_global_id, to_global_id
from tests.api.exports.support import CREATE_EXPORT, export_service
from tests.factories import World, add_booking, viewer_for
from tests.helpers import execute

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) { booking { id } errors { field code message } }
}
"""

FINISHED = [ExportStatus.DONE, ExportStatus.FAILED]

EMPTY_FILTERS: dict[ExportList, ListFilter] = {
    ExportList.GUESTS: GuestFilter(),
    ExportList.CUSTOMERS: CustomerFilter(),
    ExportList.USERS: UserFilter(),
}


@pytest.fixture
def storage(tmp_path: Path) -> LocalExportStorage:
    return LocalExportStorage(tmp_path / "exports")


@pytest.fixture
def worker(storage: LocalExportStorage) -> ExportWorker:
    return ExportWorker(storage)


@pytest.fixture
async def admin(world: World) -> Viewer:
    return await viewer_for(world.user("alpine", Role.ADMIN))


async def queue_export(
    viewer: Viewer, list_name: ExportList = ExportList.GUESTS, list_filter: ListFilter | None = None
) -> Export:
    return await request_export(
        viewer,
        list_name,
        list_filter or EMPTY_FILTERS[list_name],
        ExportOptions(),
        retention=timedelta(days=7),
    )


def files_in(storage: LocalExportStorage) -> list[Path]:
    if not storage.root.exists():
        return []
    return sorted(path for path in storage.root.rglob("*") if path.is_file())


async def add_guests(world: World, count: int) -> None:
    for index in range(count):
        await add_booking(
            seller=world.alpine, departure=world.departure, guests=[("Guest", f"N{index:02d}")]
        )


async def test_one_job_claimed_by_one_worker(admin):
    export = await queue_export(admin)

    claims = await asyncio.gather(*(claim_next_export(f"worker-{index}") for index in range(5)))

    claimed = [claim for claim in claims if claim is not None]
    assert [claim.id for claim in claimed] == [export.id]
    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.RUNNING
    assert row.claimed_by == claimed[0].claimed_by
    assert row.attempts == 1


async def test_two_workers_one_job(admin, storage):
    export = await queue_export(admin)
    workers = [ExportWorker(storage), ExportWorker(storage)]

    ran = await asyncio.gather(*(worker.run_next() for worker in workers))

    row = await Export.get(id=export.id)
    assert sorted(ran) == [False, True]
    assert row.status is ExportStatus.DONE
    assert row.attempts == 1
    assert len(files_in(storage)) == 1


async def test_concurrent_claims_take_each_job_once(admin):
    exports = [await queue_export(admin) for _ in range(10)]

    async def claim_all(worker_id: str) -> list[int]:
        claimed = []
        while (export := await claim_next_export(worker_id)) is not None:
            claimed.append(export.id)
        return claimed

    claims = await asyncio.gather(*(claim_all(f"worker-{index}") for index in range(4)))

    claimed = [export_id for worker_claims in claims for export_id in worker_claims]
    assert sorted(claimed) == [export.id for export in exports]
    assert {export.attempts for export in await Export.all()} == {1}


def booking_variables(world: World, index: int) -> dict[str, Any]:
    departure = world.departure if index % 2 else world.other_departure
    return {
        "input": {
            "departure": to_global_id("Departure", departure.id),
            "buyer": {
                "firstName": "Buyer",
                "lastName": f"Number{index}",
                "email": f"buyer{index}@example.com",
            },
            "guests": [
                {
                    "firstName": "Guest",
                    "lastName": f"Number{index}",
                    "answers": [{"key": "weight_kg", "value": "70"}],
                }
            ],
            "totalAmount": "25.00",
        }
    }


async def work_until_finished(worker: ExportWorker, total: int) -> None:
    while True:
        if await worker.run_next():
            continue
        if await Export.filter(status__in=FINISHED).count() >= total:
            return
        await asyncio.sleep(0.01)


async def test_exports_and_bookings_at_once(world, storage, caplog):
    admin = world.user("alpine", Role.ADMIN)
    employee = world.user("alpine", Role.EMPLOYEE)
    lists = ["GUESTS", "CUSTOMERS", "USERS", "GUESTS"]
    export_calls = [
        execute(
            admin,
            CREATE_EXPORT,
            {"input": {"list": lists[index % 4], "filter": None}},
            exports=export_service(),
        )
        for index in range(20)
    ]
    booking_calls = [
        execute(employee, CREATE_BOOKING, booking_variables(world, index)) for index in range(20)
    ]
    workers = [work_until_finished(ExportWorker(storage), 20) for _ in range(3)]

    with caplog.at_level(logging.WARNING):
        export_results, booking_results, _ = await asyncio.wait_for(
            asyncio.gather(
                asyncio.gather(*export_calls),
                asyncio.gather(*booking_calls),
                asyncio.gather(*workers),
            ),
            timeout=120,
        )

    assert [result.errors for result in export_results + booking_results] == [[]] * 40
    assert [export.status for export in await Export.all()] == [ExportStatus.DONE] * 20
    booking_ids = [
        from_global_id(result.data["createBooking"]["booking"]["id"])[1]
        for result in booking_results
        if result.data and result.data["createBooking"]["booking"]
    ]
    assert len(booking_ids) == 20
    assert await Booking.filter(id__in=booking_ids).count() == 20
    assert "database is locked" not in caplog.text
    assert len(files_in(storage)) == 20


def rows_failing_after_first_batch(error: BaseException) -> Callable[..., Any]:
    """Wrap `write_rows` so that it raises `error` once the first rows are in the file."""

    async def failing_rows(*arguments: Any, report: RowsWritten) -> int:
        async def report_then_fail(written: int) -> None:
            await report(written)
            raise error

        return await write_rows(*arguments, report=report_then_fail)

    return failing_rows


async def test_job_failing_mid_file_leaves_no_file(world, admin, storage, worker, monkeypatch):
    await add_guests(world, 6)
    monkeypatch.setattr("api.exports.jobs.BATCH_SIZE", 2)
    monkeypatch.setattr(
        "api.exports.jobs.write_rows", rows_failing_after_first_batch(RuntimeError("lost"))
    )
    export = await queue_export(admin)

    await worker.run_next()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.FAILED
    assert row.error == "An unexpected error stopped the export; the server log has the details."
    assert row.storage_key == ""
    assert files_in(storage) == []


async def test_disk_error_mid_file_fails_job(world, admin, storage, worker, monkeypatch):
    await add_guests(world, 6)
    monkeypatch.setattr("api.exports.jobs.BATCH_SIZE", 2)
    disk_full = OSError(28, "No space left on device")
    monkeypatch.setattr("api.exports.jobs.write_rows", rows_failing_after_first_batch(disk_full))
    export = await queue_export(admin)

    await worker.run_next()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.FAILED
    assert row.error.startswith("No space left on the export volume;")
    assert files_in(storage) == []


async def cancel_after_first_batch(
    worker: ExportWorker, storage: LocalExportStorage, monkeypatch: pytest.MonkeyPatch
) -> list[Path]:
    """Cancel the next job once its first batch is written; return the files it had then."""
    monkeypatch.setattr("api.exports.jobs.BATCH_SIZE", 2)
    first_batch_written = asyncio.Event()
    never = asyncio.Event()

    async def stalling_rows(*arguments: Any, report: RowsWritten) -> int:
        async def report_then_stall(written: int) -> None:
            await report(written)
            first_batch_written.set()
            await never.wait()

        return await write_rows(*arguments, report=report_then_stall)

    monkeypatch.setattr("api.exports.jobs.write_rows", stalling_rows)
    job = asyncio.create_task(worker.run_next())
    await asyncio.wait_for(first_batch_written.wait(), timeout=10)
    files_before_cancel = files_in(storage)

    job.cancel()
    await asyncio.gather(job, return_exceptions=True)
    monkeypatch.setattr("api.exports.jobs.write_rows", write_rows)
    return files_before_cancel


async def test_cancelled_job_leaves_no_file(world, admin, storage, worker, monkeypatch):
    await add_guests(world, 6)
    export = await queue_export(admin)

    partial_files = await cancel_after_first_batch(worker, storage, monkeypatch)

    assert [path.suffix for path in partial_files] == [".part"]
    assert files_in(storage) == []
    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.RUNNING
    assert not storage.exists(row.storage_key)


async def test_cancelled_job_queued_again_and_finished(world, admin, storage, monkeypatch):
    await add_guests(world, 6)
    export = await queue_export(admin)
    worker = ExportWorker(storage, stale_after=timedelta(minutes=1))
    await cancel_after_first_batch(worker, storage, monkeypatch)
    # The heartbeat stopped with the job; let its last beat grow old.
    await Export.filter(id=export.id).update(heartbeat_at=datetime.now(UTC) - timedelta(minutes=5))

    await worker.sweep()
    queued = await Export.get(id=export.id)
    await worker.run_next()

    row = await Export.get(id=export.id)
    assert queued.status is ExportStatus.QUEUED
    assert row.status is ExportStatus.DONE
    assert row.rows_written == 6
    assert row.attempts == 2
    assert files_in(storage) == [storage.path(row.storage_key)]


async def test_stale_job_queued_again_and_finished(world, admin, storage):
    await add_guests(world, 6)
    export = await queue_export(admin)
    await Export.filter(id=export.id).update(
        status=ExportStatus.RUNNING,
        claimed_by="stopped-worker",
        attempts=1,
        heartbeat_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    worker = ExportWorker(storage, stale_after=timedelta(minutes=1))

    await worker.sweep()
    queued = await Export.get(id=export.id)
    await worker.run_next()

    row = await Export.get(id=export.id)
    assert queued.status is ExportStatus.QUEUED
    assert queued.claimed_by == ""
    assert row.status is ExportStatus.DONE
    assert row.rows_written == 6
    assert row.attempts == 2
    assert row.claimed_by == worker.worker_id
    assert files_in(storage) == [storage.path(row.storage_key)]


async def test_stale_job_fails_after_max_attempts(admin, storage):
    export = await queue_export(admin)
    await Export.filter(id=export.id).update(
        status=ExportStatus.RUNNING,
        claimed_by="stopped-worker",
        attempts=MAX_ATTEMPTS,
        heartbeat_at=datetime.now(UTC) - timedelta(minutes=5),
    )

    requeued, failed = await recover_stale_exports(timedelta(minutes=1))

    row = await Export.get(id=export.id)
    assert (requeued, failed) == (0, 1)
    assert row.status is ExportStatus.FAILED
    assert row.error.startswith(f"The server process running this export stopped {MAX_ATTEMPTS}")
    assert "request the export again" in row.error
    assert row.finished_at is not None


async def test_stale_job_retried_until_max_attempts(admin, storage):
    export = await queue_export(admin)
    stopped_workers = 0

    # Each worker claims the job and stops without a heartbeat, until the job fails.
    while (await Export.get(id=export.id)).status is ExportStatus.QUEUED:
        claimed = await claim_next_export(f"stopped-worker-{stopped_workers}")
        assert claimed is not None
        stopped_workers += 1
        await Export.filter(id=export.id).update(
            heartbeat_at=datetime.now(UTC) - timedelta(minutes=5)
        )
        await recover_stale_exports(timedelta(minutes=1))

    assert stopped_workers == MAX_ATTEMPTS
    assert (await Export.get(id=export.id)).status is ExportStatus.FAILED


async def test_running_job_with_fresh_heartbeat_is_left_alone(admin, worker):
    export = await queue_export(admin)
    await Export.filter(id=export.id).update(
        status=ExportStatus.RUNNING,
        claimed_by="busy-worker",
        attempts=1,
        heartbeat_at=datetime.now(UTC),
    )

    await worker.sweep()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.RUNNING
    assert row.claimed_by == "busy-worker"


def write_partial(storage: LocalExportStorage, name: str, age: timedelta) -> Path:
    path = storage.root / "1" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("email\r\n")
    modified = time.time() - age.total_seconds()
    os.utime(path, (modified, modified))
    return path


async def test_sweep_removes_stale_partial_file(db, storage):
    worker = ExportWorker(storage, stale_after=timedelta(minutes=1))
    stale = write_partial(storage, "7-0123abcd.csv.4242.part", timedelta(minutes=10))
    fresh = write_partial(storage, "8-4567cdef.csv.4242.part", timedelta(seconds=5))
    finished = write_partial(storage, "9-89abcdef.csv", timedelta(minutes=10))

    await worker.sweep()

    assert not stale.exists()
    assert fresh.exists()
    assert finished.exists()


async def test_sweep_keeps_partial_file_of_live_job(admin, storage):
    worker = ExportWorker(storage, stale_after=timedelta(minutes=1))
    export = await queue_export(admin)
    key = f"{export.organization_id}/{export.id}-0123abcd.csv"
    await Export.filter(id=export.id).update(
        status=ExportStatus.RUNNING,
        claimed_by="another-process",
        heartbeat_at=datetime.now(UTC),
        storage_key=key,
    )
    # A slow query can leave a live job's file unwritten for longer than the stale age.
    partial = storage.path(f"{key}.4242.part")
    partial.parent.mkdir(parents=True, exist_ok=True)
    partial.write_text("email\r\n")
    ten_minutes_ago = time.time() - 600
    os.utime(partial, (ten_minutes_ago, ten_minutes_ago))

    await worker.sweep()

    assert partial.exists()


async def test_sweep_expires_export_and_deletes_file(admin, storage, worker):
    old = await queue_export(admin)
    recent = await queue_export(admin)
    await worker.run_next()
    await worker.run_next()
    await Export.filter(id=old.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    old_file = storage.path((await Export.get(id=old.id)).storage_key)
    recent_file = storage.path((await Export.get(id=recent.id)).storage_key)

    await worker.sweep()

    assert (await Export.get(id=old.id)).status is ExportStatus.EXPIRED
    assert not old_file.exists()
    assert (await Export.get(id=recent.id)).status is ExportStatus.DONE
    assert recent_file.exists()


@pytest.mark.parametrize("status", [ExportStatus.QUEUED, ExportStatus.RUNNING], ids=str.lower)
async def test_sweep_keeps_unfinished_export_past_retention(admin, worker, status):
    export = await queue_export(admin)
    await Export.filter(id=export.id).update(
        status=status,
        heartbeat_at=datetime.now(UTC),
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )

    await worker.sweep()

    assert (await Export.get(id=export.id)).status is status


async def test_unwritable_export_dir_fails_job(admin, tmp_path):
    # A file where the directory should be: even root cannot create the directory then.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    storage = LocalExportStorage(blocker / "exports")
    export = await queue_export(admin)

    await ExportWorker(storage).run_next()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.FAILED
    assert row.error == "Writing the export file failed: Not a directory."
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["blocker"]


async def test_read_only_export_dir_fails_job(admin, tmp_path, monkeypatch):
    storage = LocalExportStorage(tmp_path / "exports")
    export = await queue_export(admin)

    def read_only(self: Path, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    # Root may write to any directory, so the denial is simulated where files are opened.
    monkeypatch.setattr(Path, "open", read_only)
    await ExportWorker(storage).run_next()
    monkeypatch.undo()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.FAILED
    assert row.error.startswith("The export directory is not writable;")
    assert files_in(storage) == []


async def test_job_of_deactivated_requester_fails(world, admin, worker):
    export = await queue_export(admin)
    await User.filter(id=admin.user_id).update(is_active=False)

    await worker.run_next()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.FAILED
    assert row.error == "The user who requested this export is no longer active."


async def test_job_of_requester_who_lost_role_fails(world, worker):
    accountant = world.user("alpine", Role.ACCOUNTANT)
    export = await queue_export(await viewer_for(accountant), ExportList.CUSTOMERS)
    await UserRole.filter(user_id=accountant.id).update(role=Role.EDITOR)

    await worker.run_next()

    row = await Export.get(id=export.id)
    assert row.status is ExportStatus.FAILED
    assert "do not grant EXPORT_CUSTOMERS" in row.error


async def test_export_file_readable_by_owner_only(admin, storage, worker):
    export = await queue_export(admin)

    await worker.run_next()

    row = await Export.get(id=export.id)
    assert storage.path(row.storage_key).stat().st_mode & 0o777 == 0o600
