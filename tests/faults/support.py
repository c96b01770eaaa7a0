"""Faults for the fault tests: stopping PostgreSQL, signing in, and GraphQL over HTTP."""

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from api.exports.signing import UrlSigner
from api.exports.storage import PARTIAL_SUFFIX
from models.bookings import Guest
from models.commands.auth import sign_in
from models.enums import ExportStatus
from models.exports import Export
from models.users import User
from schema.relay import from_global_id
from tests.api.server import SECRET_KEY
from tests.conftest import BACKEND, POSTGRES_URL
from tests.factories import PASSWORD

# The PostgreSQL cluster of TOURDESK_TEST_POSTGRES_URL, as `pg_ctlcluster` names it.
POSTGRES_CLUSTER = os.environ.get("TOURDESK_TEST_POSTGRES_CLUSTER", "15 main").split()
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
# How long stopping or starting PostgreSQL may take; the shutdown checkpoint of a busy server can
# take minutes.
POSTGRES_START_SECONDS = 600


def require_postgres() -> None:
    if BACKEND != "postgres":
        pytest.skip("This fault concerns PostgreSQL connections; it runs in the PostgreSQL pass.")


def require_postgres_control() -> None:
    """Skip unless this process can stop and start the PostgreSQL cluster of the tests."""
    require_postgres()
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_isready") is None:
        pytest.skip("pg_ctlcluster and pg_isready are needed to restart PostgreSQL.")
    status = _pg_ctlcluster("status")
    if status.returncode != 0:
        pytest.skip(
            f"pg_ctlcluster cannot control the cluster {' '.join(POSTGRES_CLUSTER)} "
            f"(set TOURDESK_TEST_POSTGRES_CLUSTER to `VERSION NAME`): {status.stderr.strip()}"
        )


def _pg_ctlcluster(action: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (the cluster of this machine's test database)
        ["pg_ctlcluster", "--skip-systemctl-redirect", *POSTGRES_CLUSTER, action],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def postgres_accepts_connections() -> bool:
    parts = urlsplit(POSTGRES_URL)
    ready = subprocess.run(  # noqa: S603 (the test database's own server)
        ["pg_isready", "-q", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)],  # noqa: S607
        timeout=30,
        check=False,
    )
    return ready.returncode == 0


def start_postgres() -> None:
    """Start the cluster, after any shutdown in progress, and wait until it accepts connections.

    A stop's checkpoint can take minutes on a busy disk, and meanwhile the cluster counts as
    running, so starting it is retried until it accepts connections.
    """
    deadline = time.monotonic() + POSTGRES_START_SECONDS
    while not postgres_accepts_connections():
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"PostgreSQL cluster {' '.join(POSTGRES_CLUSTER)} does not accept connections "
                f"{POSTGRES_START_SECONDS} s after the test stopped it; start it with "
                f"`pg_ctlcluster {' '.join(POSTGRES_CLUSTER)} start`."
            )
        if _pg_ctlcluster("status").returncode != 0:
            _pg_ctlcluster("start", timeout=POSTGRES_START_SECONDS)
        else:
            # Still shutting down, or starting up.
            time.sleep(0.5)


@asynccontextmanager
async def postgres_stopped() -> AsyncIterator[None]:
    """Stop PostgreSQL (fast mode: sessions are terminated) for the block, then start it again.

    The commands run in threads, so the test's clients keep sending requests meanwhile and their
    connections do not sit idle past the server's keep-alive timeout.
    """
    try:
        stopped = await asyncio.to_thread(_pg_ctlcluster, "stop", timeout=POSTGRES_START_SECONDS)
        if stopped.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not stop: {stopped.stderr.strip()}")
        yield
    finally:
        await asyncio.to_thread(start_postgres)
        await expire_pooled_connections()


async def expire_pooled_connections() -> None:
    """Replace the test process's pooled connections, which the stop ended.

    Later tests then start on live connections instead of meeting dead ones one by one.
    """
    # Tortoise creates the pool on first use and keeps it in `_pool`.
    pool = getattr(connections.get("default"), "_pool", None)
    if pool is not None:
        await pool.expire_connections()


async def bearer_headers(user: User) -> dict[str, str]:
    signed_in = await sign_in(user.email, PASSWORD, token_ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {signed_in.token}"}


def error_codes(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    return [
        str((error.get("extensions") or {}).get("code", ""))
        for error in body.get("errors") or []
        if isinstance(error, dict)
    ]


def response_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


CREATE_EXPORT = """
mutation CreateExport($list: ExportList!) {
  createExport(input: {list: $list}) { export { id status } errors { code message } }
}
"""

GUEST_COLUMNS = "booking_id, first_name, last_name, email, phone, category, checked_in_at, position"


async def double_guests(times: int) -> int:
    """Double the guest rows `times` times with one INSERT ... SELECT each; return their number.

    Raw statements seed a hundred thousand guests in about a second, where factories would take
    minutes, so an export runs long enough to be interrupted. The tally triggers stay on, because
    PostgreSQL's add up the guests of a statement and update each tally row once per statement.
    """
    async with in_transaction() as connection:
        for _ in range(times):
            await connection.execute_query(
                f"INSERT INTO guest ({GUEST_COLUMNS}) SELECT {GUEST_COLUMNS} FROM guest"  # noqa: S608 (constant columns)
            )
    return await Guest.all().count()


async def create_export(client: httpx.AsyncClient, headers: dict[str, str], list_name: str) -> int:
    """Request an export over HTTP and return its primary key."""
    response = await client.post(
        "/graphql", json={"query": CREATE_EXPORT, "variables": {"list": list_name}}, headers=headers
    )
    payload = response_body(response)["data"]["createExport"]
    assert payload["errors"] == [], payload["errors"]
    return from_global_id(payload["export"]["id"])[1]


def download_path(export_id: int) -> str:
    """Return a validly signed download path, as `Export.url` would give once the export is done."""
    return UrlSigner(current_key=SECRET_KEY).sign(export_id)


async def wait_for(
    condition: Callable[[], Awaitable[bool]], *, seconds: float, what: str, interval: float = 0.01
) -> None:
    """Poll `condition` until it holds; fail naming `what` after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"Timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(interval)


async def export_status(export_id: int) -> ExportStatus:
    export = await Export.get(id=export_id)
    return export.status


def partial_files(export_dir: Path) -> list[Path]:
    return sorted(export_dir.rglob(f"*{PARTIAL_SUFFIX}")) if export_dir.exists() else []


async def finished_export(export_id: int, *, seconds: float = 60) -> Export:
    """Wait until an export is DONE or FAILED and return it."""

    async def finished() -> bool:
        return await export_status(export_id) in {ExportStatus.DONE, ExportStatus.FAILED}

    await wait_for(finished, seconds=seconds, what=f"export {export_id} to finish")
    return await Export.get(id=export_id)


def files_in(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())


@contextmanager
def tmpfs_mounted(directory: Path, *, size: str) -> Iterator[Path]:
    """Mount a memory file system of `size` bytes (such as `256k`) at `directory` for the block.

    Skips the test where mounting is not allowed, as for a user other than root or in a
    container without the capability.
    """
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("Mounting a small file system needs root and the `mount` command.")
    directory.mkdir(parents=True, exist_ok=True)
    mounted = _run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(directory)]
    )
    if mounted.returncode != 0:
        pytest.skip(f"Mounting a tmpfs at {directory} failed: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        unmounted = _run(["umount", str(directory)])
        if unmounted.returncode != 0:
            # A file still open keeps the mount busy; detach it, the kernel frees it on close.
            _run(["umount", "--lazy", str(directory)])


def remount(directory: Path, mode: str) -> None:
    """Remount the tmpfs at `directory` read-only (`ro`) or writable (`rw`)."""
    remounted = _run(["mount", "-o", f"remount,{mode}", str(directory)])
    if remounted.returncode != 0:
        raise RuntimeError(f"Remounting {directory} {mode} failed: {remounted.stderr.strip()}")


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (mounts under the test's own temporary directory)
        command, capture_output=True, text=True, timeout=30, check=False
    )
