"""`/healthz` and `/readyz`: alive, and ready once the database responds and is migrated."""

from pathlib import Path

import httpx

from tests.api.app_client import app_client
from tests.api.server import free_port, running_server


async def test_healthz_returns_ok(db: str, tmp_path: Path):
    async with app_client(db, tmp_path) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_ready_on_migrated_database(db: str, tmp_path: Path):
    async with app_client(db, tmp_path) as client:
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_unavailable_before_migrations(tmp_path: Path):
    empty_database = f"sqlite://{tmp_path / 'empty.sqlite3'}"

    with running_server(empty_database, tmp_path) as server:
        response = httpx.get(f"{server.base_url}/readyz")
        alive = httpx.get(f"{server.base_url}/healthz")

    assert response.status_code == 503
    assert "models.0001_initial" in response.json()["reason"]
    assert "tourdesk migrate" in response.json()["reason"]
    assert alive.status_code == 200


def test_readyz_unavailable_when_database_is_down(tmp_path: Path):
    closed_port = free_port()
    unreachable = f"postgres://postgres@127.0.0.1:{closed_port}/tourdesk"

    with running_server(unreachable, tmp_path) as server:
        response = httpx.get(f"{server.base_url}/readyz")

    assert response.status_code == 503
    assert response.json()["reason"].startswith("The database does not respond")
