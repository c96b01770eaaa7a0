"""Four server processes share one PostgreSQL database, one export folder and one secret key.

Each queued export runs exactly once, in whichever process claims it first, and a download URL
that one process signed downloads from any other.
"""

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from models.commands.auth import sign_in
from models.enums import ExportStatus, Role
from models.exports import Export
from schema.relay import from_global_id
from tests.api.server import Server, running_servers
from tests.factories import PASSWORD, World, add_booking

PROCESSES = 4
EXPORTS = 40
# Generous, so a slow machine does not fail the test.
WAIT_SECONDS = 45

CREATE_EXPORT = """
mutation { createExport(input: {list: GUESTS}) { export { id status } errors { code message } } }
"""

EXPORT_URL = """
query Export($id: ID!) { node(id: $id) { ... on Export { status url } } }
"""


@pytest.fixture
def servers(db: str, tmp_path: Path) -> Iterator[list[Server]]:
    with running_servers(
        db,
        tmp_path,
        count=PROCESSES,
        # Small pools, as a deployment of several processes would size them.
        TOURDESK_DATABASE_POOL_SIZE="3",
        # `createExport` returns at once instead of waiting for the job.
        TOURDESK_EXPORT_WAIT="PT0.05S",
    ) as running:
        yield running


@asynccontextmanager
async def guests_locked(database_url: str) -> AsyncIterator[None]:
    """Hold a lock on the guests, so every export a worker claims waits until the block ends.

    A worker runs one job at a time, so while the lock is held no worker can take a second
    job: the jobs must spread over the processes.
    """
    connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        async with connection.transaction():
            await connection.execute("LOCK TABLE guest IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await connection.close()


async def queue_exports(servers: list[Server], token: str, *, count: int) -> list[str]:
    """Request `count` guest exports through the servers in turn; return their global ids."""
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    async with httpx.AsyncClient(timeout=WAIT_SECONDS, headers=headers) as client:
        for number in range(count):
            server = servers[number % len(servers)]
            response = await client.post(
                f"{server.base_url}/graphql", json={"query": CREATE_EXPORT}
            )
            payload = response.json()["data"]["createExport"]
            assert payload["errors"] == [], payload["errors"]
            ids.append(payload["export"]["id"])
    return ids


async def wait_until(condition: Callable[[], Awaitable[bool]], description: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{description} did not happen within {WAIT_SECONDS} s")


async def each_process_runs_one() -> bool:
    return await Export.filter(status=ExportStatus.RUNNING).count() == PROCESSES


async def all_finished() -> bool:
    return not await Export.filter(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]).exists()


def process_of(worker_id: str) -> int:
    """Return the process id inside a worker id, which is `<host>-<pid>-<random>`."""
    return int(worker_id.rsplit("-", 2)[1])


def claims_in_logs(servers: list[Server]) -> Counter[int]:
    """Count the "Export N claimed" lines of all servers' logs, by export id."""
    claims: Counter[int] = Counter()
    for server in servers:
        for line in server.log().splitlines():
            message = json.loads(line)["message"] if line.startswith("{") else ""
            if message.startswith("Export ") and " claimed by worker " in message:
                claims[int(message.split()[1])] += 1
    return claims


def files_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


async def test_each_export_runs_once_spread_over_the_processes(
    db: str, world: World, servers: list[Server], tmp_path: Path
):
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)
    signed_in = await sign_in(admin.email, PASSWORD, token_ttl=timedelta(hours=1))

    # Given 40 exports queued while every worker that claims one has to wait
    async with guests_locked(db):
        ids = await queue_exports(servers, signed_in.token, count=EXPORTS)
        await wait_until(each_process_runs_one, f"{PROCESSES} exports running")

    # When the workers may go on
    await wait_until(all_finished, f"all {EXPORTS} exports finishing")

    # Then each ran once, in one of the processes, all processes took part, and each wrote one file
    rows = await Export.filter(id__in=[from_global_id(id)[1] for id in ids]).order_by("id")
    server_pids = {server.process.pid for server in servers}
    assert len(rows) == EXPORTS
    assert {row.status for row in rows} == {ExportStatus.DONE}
    assert {row.attempts for row in rows} == {1}
    assert claims_in_logs(servers) == Counter({row.id: 1 for row in rows})
    assert {process_of(row.claimed_by) for row in rows} == server_pids
    export_dir = tmp_path / "exports"
    assert files_in(export_dir) == sorted(export_dir / row.storage_key for row in rows)


async def test_download_url_of_one_process_downloads_from_another(
    db: str, world: World, servers: list[Server], tmp_path: Path
):
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)
    signed_in = await sign_in(admin.email, PASSWORD, token_ttl=timedelta(hours=1))
    [export_id] = await queue_exports(servers[:1], signed_in.token, count=1)
    await wait_until(all_finished, "the export finishing")
    row = await Export.get(id=from_global_id(export_id)[1])
    ran_in = next(server for server in servers if server.process.pid == process_of(row.claimed_by))
    signing, downloading = [server for server in servers if server is not ran_in][:2]

    # Given a URL signed by a process that did not write the file
    async with httpx.AsyncClient(
        timeout=WAIT_SECONDS, headers={"Authorization": f"Bearer {signed_in.token}"}
    ) as client:
        response = await client.post(
            f"{signing.base_url}/graphql",
            json={"query": EXPORT_URL, "variables": {"id": export_id}},
        )
        url = response.json()["data"]["node"]["url"]

        # When a third process serves it
        download = await client.get(url.replace(signing.base_url, downloading.base_url, 1))

    # Then the file comes back whole
    assert url.startswith(signing.base_url)
    assert download.status_code == 200
    assert download.content == (tmp_path / "exports" / row.storage_key).read_bytes()
