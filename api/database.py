"""Database connections for the command-line tools, and how they report a database failure."""

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise
from tortoise.exceptions import DBConnectionError, OperationalError

from api.settings import Settings
from models.config import tortoise_config

logger = logging.getLogger(__name__)

# Errors raised when the server is down, the database or role is missing, or the tables are not
# there yet. Tortoise 1.1.9 passes some of these through unwrapped: ConnectionRefusedError (an
# OSError) for a closed port, asyncpg's errors for an unknown role, and sqlite3's errors for a
# SQLite file it cannot open inside a transaction.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    DBConnectionError,
    OperationalError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    sqlite3.Error,
)


def redact_url(database_url: str) -> str:
    """Return the URL with its password replaced by `***`, so it can be printed and logged."""
    parts = urlsplit(database_url)
    if parts.password is None:
        return database_url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def sqlite_path(database_url: str) -> Path | None:
    """Return the file of a `sqlite://PATH` URL, or None for other databases and `:memory:`."""
    if not database_url.startswith("sqlite://"):
        return None
    path = database_url.removeprefix("sqlite://").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def ensure_sqlite_directory(database_url: str) -> None:
    """Create the folder of a SQLite file, because SQLite creates the file but not its folder."""
    path = sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def config_for(settings: Settings) -> dict[str, Any]:
    return tortoise_config(
        settings.database_url,
        sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.database_pool_size,
        pool_timeout_seconds=settings.database_pool_timeout,
    )


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[None]:
    """Initialise Tortoise for the settings' database and close its connections on exit."""
    ensure_sqlite_directory(settings.database_url)
    await Tortoise.init(config=config_for(settings))
    try:
        yield
    finally:
        await Tortoise.close_connections()


def describe_database_error(database_url: str, error: Exception) -> str:
    """Build a one-line message naming the database (without its password) and the next step."""
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    message = f"Database {redact_url(database_url)} failed: {detail}."

    if _is_missing_table(detail):
        return f"{message} Run `tourdesk migrate` first to create the tables."
    if sqlite_path(database_url) is not None:
        return (
            f"{message} Check TOURDESK_DATABASE_URL and that the SQLite file's folder is writable."
        )
    # Tortoise raises OperationalError when a statement fails, so the server was reached.
    if isinstance(error, OperationalError):
        return message
    return (
        f"{message} Check TOURDESK_DATABASE_URL and that the database server is running and "
        "the database exists."
    )


def _is_missing_table(detail: str) -> bool:
    # SQLite reports "no such table: x", PostgreSQL reports 'relation "x" does not exist'.
    return "no such table" in detail or ("relation" in detail and "does not exist" in detail)
