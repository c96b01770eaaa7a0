"""`tourdesk serve --workers 2`: one port, two worker processes, stopped together."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.enums import Role
from tests.api.server import STARTUP_SECONDS, Server, running_server
from tests.factories import PASSWORD, World

WORKERS = 2

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } }
}
"""

VIEWER = "query { viewer { email } }"


@pytest.fixture
def server(db: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(db, tmp_path, args=["--workers", str(WORKERS)]) as running:
        yield running


def worker_pids(log: str) -> set[int]:
    """Return the process ids of uvicorn's "Started server process [pid]" lines."""
    pids = set()
    for line in log.splitlines():
        message = json.loads(line)["message"] if line.startswith("{") else ""
        if message.startswith("Started server process ["):
            pids.add(int(message.removeprefix("Started server process [").rstrip("]")))
    return pids


def wait_for_workers(server: Server) -> set[int]:
    """Return the workers' process ids once all have started.

    The first worker may serve requests before the second has started.
    """
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        pids = worker_pids(server.log())
        if len(pids) >= WORKERS:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"{WORKERS} workers did not start within {STARTUP_SECONDS} s")


def is_running(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie waiting for its parent."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


async def test_two_workers_serve_one_port(world: World, server: Server):
    admin = world.user("alpine", Role.ADMIN)

    # When a client signs in and requests its viewer
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        signed_in = await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": admin.email, "password": PASSWORD}},
        )
        token = signed_in.json()["data"]["login"]["token"]
        viewer = await client.post(
            "/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {token}"}
        )
    pids = wait_for_workers(server)

    # Then both requests were served, by one of two worker processes besides the parent
    assert viewer.json() == {"data": {"viewer": {"email": admin.email}}}
    assert len(pids) == WORKERS
    assert server.process.pid not in pids
    assert all(is_running(pid) for pid in pids)


def test_workers_stop_with_the_server(db: str, tmp_path: Path):
    with running_server(db, tmp_path, args=["--workers", str(WORKERS)]) as server:
        pids = wait_for_workers(server)

    assert len(pids) == WORKERS
    assert not any(is_running(pid) for pid in pids)
