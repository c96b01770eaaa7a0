"""Fixtures of the model tests: the SQL statements a test sends, and their SQLite plans."""

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from tortoise import connections

from tests.conftest import listening_to_statements


class StatementLog(logging.Handler):
    """Collect the SQL statements Tortoise sends, with their parameters."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            query, values = record.args
            if isinstance(query, str) and isinstance(values, list | tuple):
                self.statements.append((query, list(values)))


@pytest.fixture
def statement_log() -> Iterator[StatementLog]:
    log = StatementLog()
    with listening_to_statements(log):
        yield log


async def sqlite_plan(query: str, values: list[Any]) -> str:
    _, rows = await connections.get("default").execute_query(f"EXPLAIN QUERY PLAN {query}", values)
    return "\n".join(row["detail"] for row in rows)
