"""Settings read from `TOURDESK_*` environment variables."""

import secrets
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from strawberry.http.websocket_origin import normalize_allowed_origins

from models.config import DEFAULT_POOL_SIZE, DEFAULT_POOL_TIMEOUT_SECONDS

VAR_DIR = Path("var")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(RuntimeError):
    """A setting is missing or invalid, so the service must not start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOURDESK_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    database_url: str = f"sqlite://{VAR_DIR}/tourdesk.sqlite3"
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000

    # Access tokens live this many hours after sign-in.
    token_ttl_hours: Annotated[int, Field(ge=1, le=24 * 90)] = 24 * 7
    # SQLite writers wait this many milliseconds for the write lock instead of failing.
    sqlite_busy_timeout_ms: Annotated[int, Field(ge=0)] = 5000
    # PostgreSQL: connections each server process may open, and how long a request waits for a
    # free one before it fails with SERVICE_UNAVAILABLE.
    database_pool_size: Annotated[int, Field(ge=1, le=1000)] = DEFAULT_POOL_SIZE
    # In seconds, fractions allowed.
    database_pool_timeout: Annotated[float, Field(gt=0, le=3600)] = DEFAULT_POOL_TIMEOUT_SECONDS

    # Guard rails for GraphQL documents.
    max_query_depth: Annotated[int, Field(ge=2)] = 12
    max_aliases: Annotated[int, Field(ge=1)] = 30
    max_tokens: Annotated[int, Field(ge=100)] = 4000
    # Estimated cost: one per field, times the page size for each list it is inside.
    max_query_cost: Annotated[int, Field(ge=100)] = 50_000
    introspection: bool = True

    # WebSockets at /graphql: operations one connection may run at once, and the origins of
    # other sites whose pages may connect (comma-separated). Pages of the server's own origin
    # and clients that send no Origin header, which are not browsers, may always connect.
    max_subscriptions_per_connection: Annotated[int, Field(ge=1)] = 5
    allowed_origins: str = ""

    # Exports: where files go, how long a download URL works, how long files are kept, and how
    # long `createExport` waits for a small export to finish before it returns.
    export_dir: Path = VAR_DIR / "exports"
    export_url_ttl: timedelta = timedelta(minutes=15)
    export_retention: timedelta = timedelta(days=7)
    export_wait: timedelta = timedelta(seconds=3)
    # A job whose worker sent no heartbeat for this long is taken over or failed.
    export_stale_after: timedelta = timedelta(seconds=60)
    export_sweep_interval: timedelta = timedelta(minutes=10)
    # False leaves the jobs to other processes that share the database, such as a process
    # reserved for exports.
    export_worker: bool = True
    # Earlier secret keys, comma-separated: download URLs they signed still verify.
    old_secret_keys: str = ""

    @field_validator("database_url")
    @classmethod
    def check_database_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0]
        if scheme not in {"sqlite", "postgres", "asyncpg"}:
            raise ValueError(
                f"TOURDESK_DATABASE_URL has scheme {scheme!r}; "
                "use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE"
            )
        return value

    @field_validator("allowed_origins")
    @classmethod
    def check_allowed_origins(cls, value: str) -> str:
        # Raises ValueError naming the first value that is not an origin.
        normalize_allowed_origins(_split_list(value))
        return value

    @field_validator(
        "export_url_ttl",
        "export_wait",
        "export_stale_after",
        "export_sweep_interval",
        mode="before",
    )
    @classmethod
    def read_seconds(cls, value: object) -> object:
        # Pydantic 2.14 reads a string only as an ISO 8601 duration such as PT60S, so the plain
        # seconds of the environment, such as "60" or "0.5", are converted here.
        if isinstance(value, str):
            try:
                return timedelta(seconds=float(value))
            except (ValueError, OverflowError):
                return value
        return value

    @field_validator("export_url_ttl", "export_wait", "export_stale_after", "export_sweep_interval")
    @classmethod
    def check_positive(cls, value: timedelta) -> timedelta:
        if value.total_seconds() <= 0:
            raise ValueError(f"{value} is not a positive duration; use seconds, such as 900")
        return value

    @property
    def old_secret_key_list(self) -> tuple[str, ...]:
        return _split_list(self.old_secret_keys)

    @property
    def allowed_origin_list(self) -> tuple[str, ...]:
        return _split_list(self.allowed_origins)

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite://")


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def resolve_secret_key(settings: Settings) -> str:
    """Return the configured secret key, or in development one kept under `var/`."""
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise SettingsError(
                f"TOURDESK_SECRET_KEY has {len(settings.secret_key)} characters; "
                "use at least 32, for example the output of "
                '`python -c "import secrets; print(secrets.token_urlsafe(48))"`'
            )
        return settings.secret_key

    if settings.is_production:
        raise SettingsError(
            "TOURDESK_SECRET_KEY is not set, and production does not start without it. "
            "Set it to the same random value of at least 32 characters on every process."
        )

    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
