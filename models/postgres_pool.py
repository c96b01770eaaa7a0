"""The PostgreSQL client: Tortoise's asyncpg client with a bounded wait for a pooled connection.

Tortoise's client waits for a free connection without a limit, so under load requests would queue
forever. Here a request waits at most the pool timeout and then fails with `DatabaseBusy`.

Tortoise loads this module as the `engine` of the PostgreSQL connection (see models/config.py)
and takes its `client_class`.
"""

import logging
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.exceptions import DBConnectionError

logger = logging.getLogger(__name__)

# Seconds a request waits for a pooled connection when the configuration names no timeout.
DEFAULT_ACQUIRE_TIMEOUT = 10.0


class DatabaseBusy(DBConnectionError):
    """Every connection of this process's pool stayed in use for the whole acquire timeout.

    It subclasses Tortoise's DBConnectionError because the request could not reach the database.
    The API reports it as SERVICE_UNAVAILABLE, so clients retry later.
    """

    def __init__(self, pool_size: int, waited_seconds: float) -> None:
        busy = (
            "The one database connection of this process is busy"
            if pool_size == 1
            else f"All {pool_size} database connections of this process are busy"
        )
        super().__init__(
            f"{busy}; waited {waited_seconds:g} s. Retry, or raise TOURDESK_DATABASE_POOL_SIZE "
            "(see docs/deployment.md)."
        )
        self.pool_size = pool_size
        self.waited_seconds = waited_seconds


# asyncpg ships no type hints, so mypy treats its Pool as Any.
class BoundedWaitPool(asyncpg.Pool):  # type: ignore[misc]
    """An asyncpg pool whose `acquire` gives up after `acquire_timeout` seconds by default."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    # asyncpg routes both `await pool.acquire()` and `async with pool.acquire()` through
    # `_acquire`, and Tortoise calls `acquire()` without a timeout, so the default goes here.
    # The name and signature are asyncpg's.
    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy:  # noqa: ASYNC109
        wait = self.acquire_timeout if timeout is None else timeout
        try:
            return await super()._acquire(wait)
        except TimeoutError as error:
            # NOTE: a new connection that takes longer than the timeout to open ends here too.
            logger.warning(
                "No free database connection within %s s; %s of %s in use",
                wait,
                self.get_size() - self.get_idle_size(),
                self.get_max_size(),
            )
            raise DatabaseBusy(self.get_max_size(), wait) from error


class BoundedWaitClient(AsyncpgDBClient):
    """Tortoise's asyncpg client on a `BoundedWaitPool`.

    Takes `acquire_timeout` (seconds) next to Tortoise's usual `minsize` and `maxsize`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.acquire_timeout = float(kwargs.pop("acquire_timeout", DEFAULT_ACQUIRE_TIMEOUT))
        super().__init__(*args, **kwargs)

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        # What asyncpg.create_pool does, with our pool class and asyncpg's defaults.
        options = {
            "max_queries": 50_000,
            "max_inactive_connection_lifetime": 300.0,
            "record_class": asyncpg.Record,
            **kwargs,
        }
        pool = BoundedWaitPool(None, acquire_timeout=self.acquire_timeout, **options)
        await pool
        return pool


client_class = BoundedWaitClient
