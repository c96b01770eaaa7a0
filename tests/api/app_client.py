"""The Starlette app in-process, on the test database, spoken to through httpx."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.settings import Settings
from models.users import User
from tests.factories import PASSWORD

BASE_URL = "http://tourdesk.test"

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } }
}
"""


@asynccontextmanager
async def app_client(
    database_url: str, work_dir: Path, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a client of an app without export worker; `settings` override Settings fields."""
    app = create_app(
        Settings(
            database_url=database_url,
            secret_key="k" * 40,
            export_dir=work_dir / "exports",
            **settings,
        ),
        manage_database=False,
        run_export_worker=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def sign_in_over_http(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    """Sign in through the `login` mutation and return the Authorization header to send."""
    response = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": user.email, "password": PASSWORD}},
    )
    token = response.json()["data"]["login"]["token"]
    return {"Authorization": f"Bearer {token}"}
