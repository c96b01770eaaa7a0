"""The export volume filling up or becoming unwritable: a readable reason, nothing left behind."""

import shutil
from pathlib import Path

import httpx

from models.enums import ExportStatus, Role
from tests.api.server import running_server
from tests.factories import World, add_booking
from tests.faults.support import (
    bearer_headers,
    create_export,
    double_guests,
    download_path,
    export_status,
    files_in,
    finished_export,
    partial_files,
    remount,
    tmpfs_mounted,
    wait_for,
)

EXPORT_SETTINGS = {"TOURDESK_EXPORT_WAIT": "0.1"}
BOOKINGS = "query { bookings(first: 5) { totalCount } }"


async def seed_guests(world: World, doublings: int) -> int:
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        created_by=admin,
        guests=[("Ana", f"Guest {number}") for number in range(5)],
    )
    return await double_guests(doublings)


async def test_full_volume_fails_export_and_keeps_serving(world: World, db: str, tmp_path: Path):
    # About 5,000 guest rows, some 700 kB of CSV, for a volume of 256 kB.
    await seed_guests(world, 10)
    headers = await bearer_headers(world.user("alpine", Role.ADMIN))

    with tmpfs_mounted(tmp_path / "volume", size="256k") as volume:
        settings = {**EXPORT_SETTINGS, "TOURDESK_EXPORT_DIR": str(volume)}
        with running_server(db, tmp_path, **settings) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                # Given an export larger than the free space of the export volume,
                # when it is written,
                failed = await finished_export(await create_export(client, headers, "GUESTS"))
                files_after_failure = files_in(volume)

                # then it fails with a reason, frees the space, and the server goes on.
                users = await finished_export(await create_export(client, headers, "USERS"))
                users_download = await client.get(download_path(users.id))
                bookings = await client.post("/graphql", json={"query": BOOKINGS}, headers=headers)

    assert failed.status is ExportStatus.FAILED
    assert failed.error.startswith("No space left on the export volume;"), failed.error
    assert failed.storage_key == ""
    assert files_after_failure == []
    assert users.status is ExportStatus.DONE, users.error
    assert users_download.status_code == 200
    assert bookings.json()["data"]["bookings"]["totalCount"] == 1


async def test_read_only_volume_fails_export_until_writable(world: World, db: str, tmp_path: Path):
    headers = await bearer_headers(world.user("alpine", Role.ADMIN))

    with tmpfs_mounted(tmp_path / "volume", size="1m") as volume:
        settings = {**EXPORT_SETTINGS, "TOURDESK_EXPORT_DIR": str(volume)}
        with running_server(db, tmp_path, **settings) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                # Given an export volume that was remounted read-only,
                remount(volume, "ro")
                # when an export is written,
                failed = await finished_export(await create_export(client, headers, "USERS"))

                # then it fails with a reason, and succeeds once the volume is writable again.
                remount(volume, "rw")
                done = await finished_export(await create_export(client, headers, "USERS"))

    assert failed.status is ExportStatus.FAILED
    assert failed.error.startswith("The export directory is not writable;"), failed.error
    assert done.status is ExportStatus.DONE, done.error


async def test_removed_directory_fails_export(world: World, db: str, tmp_path: Path):
    # About 80,000 guest rows: seconds of writing, time to remove the directory under it.
    await seed_guests(world, 14)
    headers = await bearer_headers(world.user("alpine", Role.ADMIN))
    export_dir = tmp_path / "exports"
    settings = {**EXPORT_SETTINGS, "TOURDESK_EXPORT_DIR": str(export_dir)}

    with running_server(db, tmp_path, **settings) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            guests_export = await create_export(client, headers, "GUESTS")

            async def half_written() -> bool:
                written = [path for path in partial_files(export_dir) if path.stat().st_size]
                return bool(written) and await export_status(guests_export) is ExportStatus.RUNNING

            # Given an export being written,
            await wait_for(half_written, seconds=30, what="the guests export to be written")
            # when someone removes the export directory under it,
            shutil.rmtree(export_dir)
            failed = await finished_export(guests_export)

            # then the export fails with a reason, and the next one recreates the directory.
            done = await finished_export(await create_export(client, headers, "USERS"))

    assert failed.status is ExportStatus.FAILED
    assert failed.error.startswith("The export directory disappeared"), failed.error
    assert partial_files(export_dir) == []
    assert done.status is ExportStatus.DONE, done.error
    assert files_in(export_dir) == [export_dir / done.storage_key]
