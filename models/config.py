"""Tortoise configuration built from a database URL."""

from typing import Any

from tortoise.backends.base.config_generator import expand_db_url

from models import MODEL_MODULES

# Connections in each process's PostgreSQL pool, and seconds a request waits for a free one.
DEFAULT_POOL_SIZE = 10
DEFAULT_POOL_TIMEOUT_SECONDS = 10.0
# asyncpg prepares every statement, and after five runs PostgreSQL may switch a prepared statement
# to a generic plan that ignores the parameter values. For the list queries, whose date bounds
# decide between reading a page in index order and sorting every matching row, the generic plan
# took a second where the custom one took milliseconds (bench/growth.py, 1,000,000 guests).
POSTGRES_SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}


def tortoise_config(
    database_url: str,
    *,
    sqlite_busy_timeout_ms: int = 5000,
    pool_size: int = DEFAULT_POOL_SIZE,
    pool_timeout_seconds: float = DEFAULT_POOL_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Build the Tortoise config.

    SQLite gets WAL and a busy timeout so writers wait in line. PostgreSQL gets a pool of at most
    `pool_size` connections, for which a request waits at most `pool_timeout_seconds`.
    """
    return {
        "connections": {
            "default": _connection(
                database_url, sqlite_busy_timeout_ms, pool_size, pool_timeout_seconds
            )
        },
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(
    database_url: str, sqlite_busy_timeout_ms: int, pool_size: int, pool_timeout_seconds: float
) -> str | dict[str, Any]:
    if database_url.startswith("sqlite://"):
        separator = "&" if "?" in database_url else "?"
        return (
            f"{database_url}{separator}journal_mode=WAL&busy_timeout={sqlite_busy_timeout_ms}"
            "&synchronous=NORMAL"
        )

    connection = expand_db_url(database_url)
    connection["engine"] = "models.postgres_client"
    connection["credentials"].update(
        minsize=1, maxsize=pool_size, acquire_timeout=pool_timeout_seconds
    )
    settings = connection["credentials"].setdefault("server_settings", {})
    settings.update(POSTGRES_SERVER_SETTINGS)
    return connection
