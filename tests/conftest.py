"""Fixtures: a migrated database per backend, the demo world of two organizations, and actors.

A pytest run uses one backend, chosen by TOURDESK_TEST_BACKEND: `sqlite` (the default) or
`postgres`, which creates a fresh database on the server at TOURDESK_TEST_POSTGRES_URL for the run
and drops it afterwards. `make test` runs the suite once per backend. One process per backend,
because Tortoise binds models to one database dialect per process.
"""

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from tortoise import Tortoise
from tortoise.contrib.test import truncate_all_models
from tortoise.migrations.api.migrate import migrate

from models.config import tortoise_config
from tests.factories import World, build_world

POSTGRES_URL = os.environ.get("TOURDESK_TEST_POSTGRES_URL", "")


BACKEND = os.environ.get("TOURDESK_TEST_BACKEND", "sqlite")


def _check_backend() -> None:
    if BACKEND not in {"sqlite", "postgres"}:
        raise pytest.UsageError(f"TOURDESK_TEST_BACKEND is {BACKEND!r}; use sqlite or postgres.")
    if BACKEND == "postgres" and not POSTGRES_URL:
        raise pytest.UsageError(
            "TOURDESK_TEST_BACKEND=postgres needs TOURDESK_TEST_POSTGRES_URL, a server URL such "
            "as postgres://postgres@127.0.0.1:5432/postgres"
        )


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def _create_postgres_database() -> tuple[str, str]:
    name = f"tourdesk_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name, _with_database(POSTGRES_URL, name)


async def _drop_postgres_database(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_URL.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """Yield the URL of a migrated database, with Tortoise connected to it."""
    postgres_name = ""
    if BACKEND == "postgres":
        postgres_name, url = await _create_postgres_database()
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"

    config = tortoise_config(url)
    await migrate(config=config)
    await Tortoise.close_connections()
    await Tortoise.init(config=config, _enable_global_fallback=True)
    try:
        yield url
    finally:
        await Tortoise.close_connections()
        if postgres_name:
            await _drop_postgres_database(postgres_name)


@pytest.fixture
async def db(database: str) -> str:
    """Return an empty database; rows a test writes are deleted before the next test."""
    await truncate_all_models()
    return database


@pytest.fixture
async def world(db: str) -> World:
    return await build_world()


@pytest.fixture
def is_postgres(db: str) -> bool:
    return db.startswith("postgres")


class QueryCounter(logging.Handler):
    """Count the SQL statements Tortoise sends, from its debug log."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(("Created connection", "Closed connection")):
            self.statements.append(message)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def listening_to_statements(handler: logging.Handler) -> Iterator[None]:
    """Send each statement Tortoise logs to `handler` while the block runs."""
    client_logger = logging.getLogger("tortoise.db_client")
    previous_level = client_logger.level
    client_logger.setLevel(logging.DEBUG)
    client_logger.addHandler(handler)
    try:
        yield
    finally:
        client_logger.removeHandler(handler)
        client_logger.setLevel(previous_level)


@pytest.fixture
def count_queries() -> Iterator[QueryCounter]:
    counter = QueryCounter()
    with listening_to_statements(counter):
        yield counter


@pytest.fixture(autouse=True)
def _work_in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep files the code writes under `var/` (such as the development secret key) out of git."""
    monkeypatch.chdir(tmp_path)


def pytest_configure(config: Any) -> None:
    _check_backend()
    os.environ.setdefault("TOURDESK_ENV", "test")


def pytest_report_header(config: Any) -> str:
    return f"tourdesk database backend: {BACKEND}"
