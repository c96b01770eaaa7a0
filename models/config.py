"""Tortoise configuration built from a database URL."""

from typing import Any

from models import MODEL_MODULES


def tortoise_config(database_url: str, *, sqlite_busy_timeout_ms: int = 5000) -> dict[str, Any]:
    """Build the Tortoise config; SQLite gets WAL and a busy timeout so writers wait in line."""
    if database_url.startswith("sqlite://"):
        separator = "&" if "?" in database_url else "?"
        database_url = (
            f"{database_url}{separator}journal_mode=WAL&busy_timeout={sqlite_busy_timeout_ms}"
            "&synchronous=NORMAL"
        )
    return {
        "connections": {"default": database_url},
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
