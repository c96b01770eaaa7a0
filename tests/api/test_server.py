"""The real server: uvicorn in its own process, spoken to over HTTP on a free loopback port."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.enums import Role
from tests.factories import PASSWORD, World, add_booking

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } }
}
"""

BOOKINGS = """
query {
  bookings(first: 10) {
    totalCount
    nodes { reference buyer { email } guests { lastName } departure { activity { name } } }
  }
}
"""

EXPORT_GUESTS = """
mutation { createExport(input: {list: GUESTS}) { export { status rowCount url } errors { code } } }
"""

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"The server exited with code {server.returncode} while starting")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"The server did not answer on {base_url} within {STARTUP_SECONDS} s")


@pytest.fixture
def server(db: str, tmp_path: Path) -> Iterator[str]:
    """Start `tourdesk serve` on the test database and stop it after the test."""
    port = free_port()
    environment = {
        **os.environ,
        "TOURDESK_ENV": "development",
        "TOURDESK_DATABASE_URL": db,
        "TOURDESK_EXPORT_DIR": str(tmp_path / "exports"),
        "TOURDESK_SECRET_KEY": "k" * 40,
    }
    process = subprocess.Popen(  # noqa: S603 (starts this project's own server)
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_sign_in_query_and_download_over_http(world: World, server: str):
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)

    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        signed_in = await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": admin.email, "password": PASSWORD}},
        )
        token = signed_in.json()["data"]["login"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        bookings = await client.post("/graphql", json={"query": BOOKINGS}, headers=headers)
        exported = await client.post("/graphql", json={"query": EXPORT_GUESTS}, headers=headers)
        export = exported.json()["data"]["createExport"]["export"]
        download = await client.get(export["url"])

    assert token
    page = bookings.json()["data"]["bookings"]
    assert page["totalCount"] == 1
    assert page["nodes"][0]["buyer"]["email"] == "buyer@example.com"
    assert page["nodes"][0]["departure"]["activity"]["name"] == "Tandem paragliding flight"
    assert export["status"] == "DONE"
    assert export["rowCount"] == 1
    assert download.status_code == 200
    assert download.text.startswith("booking_reference,")
