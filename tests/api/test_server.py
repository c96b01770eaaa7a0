"""The real server: uvicorn in its own process, spoken to over HTTP on a free loopback port."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from models.enums import Role
from tests.api.server import running_server
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


@pytest.fixture
def server(db: str, tmp_path: Path) -> Iterator[str]:
    """Start `tourdesk serve` on the test database and stop it after the test."""
    with running_server(db, tmp_path) as running:
        yield running.base_url


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
