"""Running an export's statement with one database cursor, however many rows it returns.

A million-row export paged with keyset queries re-runs the join, the filter and the sort for every
page, which on a million guests cost seconds per page. One statement sorts once; PostgreSQL sends
its result as CSV through COPY, and SQLite's rows are read in batches on a thread of their own.
"""

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import ValuesQuery

Output = Callable[[bytes], Awaitable[None]]


def values_statement(query: ValuesQuery[Any]) -> tuple[str, list[Any]]:
    """Return the SQL and the parameters of a values query, as Tortoise would run it.

    NOTE: this uses Tortoise 1.1 internals (`_choose_db_if_not_chosen`, `_make_query`), the same
    steps `ValuesQuery._execute` takes; pyproject pins Tortoise below 1.2 for that reason.
    """
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, parameters = query.query.get_parameterized_sql()
    return sql, list(parameters)


def client_of(query: ValuesQuery[Any]) -> BaseDBAsyncClient:
    query._choose_db_if_not_chosen()
    return query._db


def dialect_of(client: BaseDBAsyncClient) -> str:
    return str(client.capabilities.dialect)


async def copy_csv_from_postgres(
    client: BaseDBAsyncClient,
    sql: str,
    parameters: list[Any],
    *,
    time_zone: str,
    delimiter: str,
    output: Output,
) -> None:
    """Send the rows of `sql` to `output` as CSV chunks, through COPY on one pooled connection.

    The statement formats timestamps with to_char, which uses the session's zone: the
    transaction sets it to `time_zone` and puts it back when it ends.
    """
    async with client.acquire_connection() as connection, connection.transaction():
        await connection.execute("SELECT set_config('TimeZone', $1, true)", time_zone)
        await connection.copy_from_query(
            sql, *parameters, output=output, format="csv", delimiter=delimiter
        )


def _read_only_uri(filename: str) -> str:
    return f"file:{quote(os.path.abspath(filename))}?mode=ro"


def _open_read_only(filename: str) -> sqlite3.Connection:
    # Its own read-only connection: the server's single SQLite connection stays free for
    # requests and for the job's progress updates, and WAL lets this reader run beside writers.
    # Worker threads take turns on it, one call at a time.
    return sqlite3.connect(_read_only_uri(filename), uri=True, check_same_thread=False)


async def sqlite_row_batches(
    client: BaseDBAsyncClient, sql: str, parameters: list[Any], batch_size: int
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Yield the rows of `sql` in batches, reading the next batch while the caller writes one."""
    connection = await asyncio.to_thread(
        _open_read_only,
        client.filename,  # type: ignore[attr-defined]
    )
    pending: asyncio.Future[list[Any]] | None = None
    try:
        cursor = await asyncio.to_thread(connection.execute, sql, parameters)
        pending = asyncio.ensure_future(asyncio.to_thread(cursor.fetchmany, batch_size))
        while rows := await pending:
            pending = asyncio.ensure_future(asyncio.to_thread(cursor.fetchmany, batch_size))
            yield rows
    finally:
        # A read still running on its thread must end before the connection closes under it.
        if pending is not None and not pending.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)
        connection.close()
