"""The PostgreSQL client: Tortoise's asyncpg client, made to survive sessions the server ended.

A session ends under a connection when PostgreSQL restarts, when an administrator terminates
it, or when the network drops it. Three things then go wrong with Tortoise 1.1.9 and asyncpg 0.32:

- asyncpg may not notice that an idle pooled connection lost its session. The pool hands it out,
  and its next statement fails: before anything is sent, with `InternalClientError: cannot switch
  to state ...` or `InterfaceError: ... connection is closed`, or once sent, with
  `ConnectionDoesNotExistError`. Here a statement that was not sent, a SELECT outside a
  transaction and a BEGIN are sent again on another connection, because running them twice
  changes nothing. Other statements fail, because the server may have run them.
- When BEGIN fails, Tortoise neither gives the connection back to the pool nor restores the
  task's current connection, so the pool slot stays busy for good. Once every slot is lost,
  all requests wait forever.
- When giving a connection back fails, which asyncpg's reset of a dead connection does, Tortoise
  raises that error in place of the outcome of the statement or transaction. A committed
  transaction then looks failed. Tortoise also skips restoring the task's current connection, so
  the task, such as the export worker's loop, sends every later statement to the released
  connection.

Tortoise loads this module as the `engine` of a PostgreSQL connection (see models/config.py) and
takes its `client_class`, which builds on the bounded pool wait of models/postgres_pool.py.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from tortoise.backends.asyncpg.client import TransactionWrapper
from tortoise.backends.base.client import (
    PoolConnectionWrapper,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.connection import get_connections
from tortoise.exceptions import TransactionManagementError

from models.postgres_pool import BoundedWaitClient, DatabaseBusy

logger = logging.getLogger(__name__)

T = TypeVar("T")


# Errors of a statement whose connection lost its session while it ran, or before.
LOST_SESSION_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    ConnectionError,
)


def is_unsent(error: BaseException) -> bool:
    """Tell whether a statement failed on a dead connection before anything was sent."""
    if isinstance(error, asyncpg.InternalClientError):
        return str(error).startswith("cannot switch to state")
    if isinstance(error, asyncpg.InterfaceError):
        return str(error).endswith("connection is closed")
    return False


def can_send_again(error: BaseException, *, is_read: bool) -> bool:
    """Tell whether a statement that failed on a dead connection may be sent on another one."""
    if isinstance(error, ConnectionRefusedError):
        # The server is down: another connection fails the same way.
        return False
    if isinstance(error, DatabaseBusy):
        # A ConnectionError too, but no connection died: another try would wait the whole pool
        # timeout again, so a request would wait that long once per pooled connection.
        return False
    return is_unsent(error) or (is_read and isinstance(error, LOST_SESSION_ERRORS))


def is_read(query: str) -> bool:
    return query.lstrip()[:6].upper() == "SELECT"


class ReleasingPoolConnection(PoolConnectionWrapper[asyncpg.Connection]):
    """A pooled connection for one statement; a failed release does not replace its outcome."""

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            await super().__aexit__(exc_type, exc_val, exc_tb)
        except Exception as error:
            # asyncpg closed the connection when its reset failed; the pool opens a new one.
            logger.info("Closed a pooled connection that failed its reset: %s", error)


class ReleasingTransactionContext(TransactionContextPooled):
    """Tortoise's pooled transaction, cleaning up after a connection that died.

    NOTE: `__aexit__` repeats the steps of Tortoise 1.1.9's method; check it on upgrades.
    """

    def __init__(self, client: TransactionWrapper, parent: "PostgresClient") -> None:
        super().__init__(client, parent._pool_init_lock)
        self.parent = parent

    async def __aenter__(self) -> Any:
        for attempt in range(1, self.parent.max_attempts + 1):
            try:
                return await super().__aenter__()
            except BaseException as error:
                self._restore_current_connection()
                await self._release_connection()
                # A BEGIN that failed did nothing, whether or not the server got it.
                if not can_send_again(error, is_read=True) or attempt == self.parent.max_attempts:
                    raise
                logger.info("BEGIN failed on a dead connection, trying another: %s", error)
        raise AssertionError("unreachable")

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        try:
            if not self.client._finalized:
                if exc_type is None:
                    # A failed COMMIT raises: the caller must not take the writes for done.
                    await self.client.commit()
                elif exc_type is not TransactionManagementError:
                    await self._roll_back()
        finally:
            self._restore_current_connection()
            await self._release_connection()

    async def _roll_back(self) -> None:
        try:
            await self.client.rollback()
        except Exception as error:
            # The block's own error is the one to report. A session that ended took its
            # transaction with it, and asyncpg closes the connection on release if it is broken.
            logger.info("Rolling back a transaction failed: %s", error)

    def _restore_current_connection(self) -> None:
        # Tortoise sets the token once it has a connection, and marks it used once it reset it.
        token = getattr(self, "token", None)
        if token is not None and not token._used:
            get_connections().reset(token)

    async def _release_connection(self) -> None:
        connection = self.client._connection
        pool = self.client._parent._pool
        if connection is None or pool is None:
            return
        self.client._connection = None
        try:
            await pool.release(connection)
        except Exception as error:
            logger.info("Closed a pooled connection that failed its reset: %s", error)


class PostgresClient(BoundedWaitClient):
    """Tortoise's asyncpg client with a bounded pool wait, surviving sessions that ended."""

    @property
    def max_attempts(self) -> int:
        # Every pooled connection may be dead after a restart, so one more than the pool contains.
        return self.pool_maxsize + 1

    def acquire_connection(self) -> ReleasingPoolConnection:
        return ReleasingPoolConnection(self, self._pool_init_lock)

    def _in_transaction(self) -> TransactionContext:
        return ReleasingTransactionContext(TransactionWrapper(self), self)

    async def execute_insert(self, query: str, values: list[Any]) -> Any:
        return await self._resending(super().execute_insert, query, values)

    async def execute_many(self, query: str, values: list[Any]) -> None:
        await self._resending(super().execute_many, query, values)

    async def execute_query(self, query: str, values: list[Any] | None = None) -> Any:
        return await self._resending(super().execute_query, query, values)

    async def execute_query_dict(self, query: str, values: list[Any] | None = None) -> Any:
        return await self._resending(super().execute_query_dict, query, values)

    async def execute_script(self, query: str) -> None:
        await self._resending(super().execute_script, query)

    async def _resending(self, execute: Callable[..., Awaitable[T]], query: str, *args: Any) -> T:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await execute(query, *args)
            except Exception as error:
                retry = can_send_again(error, is_read=is_read(query))
                if not retry or attempt == self.max_attempts:
                    raise
                logger.info("A statement failed on a dead connection, trying another: %s", error)
        raise AssertionError("unreachable")


client_class = PostgresClient
