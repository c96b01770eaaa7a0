"""Streaming the rows of a query with one statement and a database cursor.

A million-row export paged with keyset queries re-runs the join, the filter and the sort for every
page, which on a million guests cost seconds per page. One statement read through a cursor sorts
once and keeps only one batch in memory.
"""

import os
import sqlite3
import types
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import aiosqlite
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import ValuesQuery

Row = dict[str, Any]


def _statement(query: ValuesQuery[Any]) -> tuple[str, list[Any], list[tuple[str, Any]]]:
    """Return the SQL, its parameters and the value converters Tortoise would apply.

    NOTE: this uses Tortoise 1.1 internals (`_make_query`, `_fields_for_select`), the same steps
    `ValuesQuery._execute` takes; pyproject pins Tortoise below 1.2 for that reason.
    """
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, parameters = query.query.get_parameterized_sql()
    converters = [
        (alias, query.resolve_to_python_value(query.model, field_name))
        for alias, field_name in query._fields_for_select.items()
    ]
    kept = [
        (alias, convert)
        for alias, convert in converters
        if not isinstance(convert, types.LambdaType)
    ]
    return sql, list(parameters), kept


async def stream_values(query: ValuesQuery[Any], batch_size: int) -> AsyncIterator[list[Row]]:
    """Yield the rows of a values query in batches of at most `batch_size`, in its order."""
    sql, parameters, converters = _statement(query)
    client: BaseDBAsyncClient = query._db
    if client.capabilities.dialect == "sqlite":
        batches = _sqlite_batches(client, sql, parameters, batch_size)
    else:
        batches = _postgres_batches(client, sql, parameters, batch_size)
    async for rows in batches:
        _convert(rows, converters)
        yield rows


def _convert(rows: list[Row], converters: list[tuple[str, Callable[[Any], Any]]]) -> None:
    for row in rows:
        for alias, convert in converters:
            row[alias] = convert(row[alias])


def _read_only_uri(filename: str) -> str:
    return f"file:{quote(os.path.abspath(filename))}?mode=ro"


async def _sqlite_batches(
    client: BaseDBAsyncClient, sql: str, parameters: list[Any], batch_size: int
) -> AsyncIterator[list[Row]]:
    # A read-only connection of its own: the server's single SQLite connection stays free for
    # requests and for the job's progress updates, and WAL lets this reader run beside writers.
    uri = _read_only_uri(client.filename)  # type: ignore[attr-defined]
    async with aiosqlite.connect(uri, uri=True) as connection:
        connection.row_factory = sqlite3.Row
        async with connection.execute(sql, parameters) as cursor:
            while rows := await cursor.fetchmany(batch_size):
                yield [dict(row) for row in rows]


async def _postgres_batches(
    client: BaseDBAsyncClient, sql: str, parameters: list[Any], batch_size: int
) -> AsyncIterator[list[Row]]:
    # asyncpg cursors live inside a transaction; it holds one pooled connection for the export.
    async with client.acquire_connection() as connection, connection.transaction():
        batch: list[Row] = []
        async for record in connection.cursor(sql, *parameters, prefetch=batch_size):
            batch.append(dict(record))
            if len(batch) >= batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
