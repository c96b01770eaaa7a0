"""A server process killed in the middle of an export: no partial file served, no job lost."""

from pathlib import Path

import httpx

from models.enums import ExportStatus, Role
from models.exports import Export
from tests.api.server import running_server
from tests.factories import World, add_booking
from tests.faults.support import (
    bearer_headers,
    create_export,
    double_guests,
    download_path,
    export_status,
    partial_files,
    wait_for,
)

# Five guests doubled 16 times: about 330,000 rows. Exports write 60,000 (SQLite) to 160,000
# (PostgreSQL) rows a second, so the file grows for seconds, long enough to kill the process.
GUEST_DOUBLINGS = 16
# Jobs of a dead process are taken over 2 s after its last heartbeat, looked for every second.
EXPORT_SETTINGS = {
    "TOURDESK_EXPORT_WAIT": "0.1",
    "TOURDESK_EXPORT_STALE_AFTER": "2",
    "TOURDESK_EXPORT_SWEEP_INTERVAL": "1",
}
NOT_READY = "Not Found: the export does not exist or was deleted."


async def test_killed_export_is_finished_after_restart(world: World, db: str, tmp_path: Path):
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        created_by=admin,
        guests=[("Ana", f"Guest {number}") for number in range(5)],
    )
    guests = await double_guests(GUEST_DOUBLINGS)
    headers = await bearer_headers(admin)
    export_dir = tmp_path / "exports"
    settings = {**EXPORT_SETTINGS, "TOURDESK_EXPORT_DIR": str(export_dir)}
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()

    async def guests_export_half_written() -> bool:
        written = [path for path in partial_files(export_dir) if path.stat().st_size > 0]
        return bool(written) and await export_status(guests_export) is ExportStatus.RUNNING

    # Given a server writing a large guests export, with a users export queued behind it,
    with running_server(db, tmp_path / "first", **settings) as first:
        async with httpx.AsyncClient(base_url=first.base_url, timeout=30) as client:
            guests_export = await create_export(client, headers, "GUESTS")
            users_export = await create_export(client, headers, "USERS")
            await wait_for(
                guests_export_half_written, seconds=30, what="the guests export to be written"
            )
            while_running = await client.get(download_path(guests_export))
            # when the process is killed in the middle of writing,
            first.process.kill()
            first.process.wait()
    after_kill = await Export.get(id=guests_export)
    partials_after_kill = partial_files(export_dir)
    users_after_kill = await export_status(users_export)

    # then no server serves the half-written file, and a new server finishes both jobs.
    with running_server(db, tmp_path / "second", **settings) as second:
        async with httpx.AsyncClient(base_url=second.base_url, timeout=30) as client:
            after_restart = await client.get(download_path(guests_export))
            partial_by_path = [
                await client.get(f"/exports/{path.relative_to(export_dir)}")
                for path in partials_after_kill
            ]

            async def both_finished() -> bool:
                statuses = {await export_status(guests_export), await export_status(users_export)}
                return statuses <= {ExportStatus.DONE, ExportStatus.FAILED}

            await wait_for(both_finished, seconds=60, what="both exports to finish")

            async def no_partial_file() -> bool:
                return not partial_files(export_dir)

            await wait_for(no_partial_file, seconds=10, what="the partial file to be removed")
            guests_download = await client.get(download_path(guests_export))
            users_download = await client.get(download_path(users_export))
    recovered = await Export.get(id=guests_export)
    users = await Export.get(id=users_export)

    assert (while_running.status_code, while_running.text) == (404, NOT_READY)
    assert after_kill.status is ExportStatus.RUNNING
    assert len(partials_after_kill) == 1
    assert users_after_kill is ExportStatus.QUEUED
    assert (after_restart.status_code, after_restart.text) == (404, NOT_READY)
    assert [response.status_code for response in partial_by_path] == [404]
    assert recovered.status is ExportStatus.DONE, recovered.error
    assert recovered.attempts == 2
    assert recovered.rows_written == guests
    assert guests_download.status_code == 200
    assert guests_download.text.count("\r\n") == guests + 1
    assert users.status is ExportStatus.DONE, users.error
    assert users_download.status_code == 200
    assert set(export_dir.rglob("*.csv")) == {
        export_dir / recovered.storage_key,
        export_dir / users.storage_key,
    }
