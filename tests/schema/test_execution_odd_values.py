"""Values the short path must leave to graphql-core's path: flag combinations and awaitable rows.

Each document runs on a schema with Strawberry's default execution context and on one with the
short path, and the two results, errors included, are compared as JSON text.
"""

import json
from enum import Flag
from typing import Any

import pytest
import strawberry
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution import ShortPathExecutionContext


@strawberry.enum
class Access(Flag):
    READ = 1
    WRITE = 2


async def _itself(value: Any) -> Any:
    return value


@strawberry.type
class Row:
    name: str
    access: Access
    maybe_access: Access | None = None


def _awaitable_row(name: str) -> Row:
    """Return a row with an `__await__` of its own, which graphql-core's check finds and awaits."""
    row = Row(name=name, access=Access.READ)
    row.__await__ = lambda: _itself(row).__await__()  # type: ignore[attr-defined]
    return row


@strawberry.type
class Query:
    @strawberry.field
    def rows(self) -> list[Row]:
        return [
            Row(name="a", access=Access.READ),
            Row(name="b", access=Access.READ, maybe_access=Access.READ | Access.WRITE),
        ]

    @strawberry.field
    def combined(self) -> Row:
        return Row(name="c", access=Access.READ | Access.WRITE)

    @strawberry.field
    def plain(self) -> Row:
        return Row(name="p", access=Access.READ)

    @strawberry.field
    def awaitable(self) -> Row:
        return _awaitable_row("w")

    @strawberry.field
    def mixed(self) -> list[Row]:
        return [Row(name="p", access=Access.READ), _awaitable_row("w")]


GENERAL = strawberry.Schema(
    query=Query, execution_context_class=StrawberryGraphQLCoreExecutionContext
)
SHORT_PATH = strawberry.Schema(query=Query, execution_context_class=ShortPathExecutionContext)

DOCUMENTS = {
    "flag combination in a non-null field": "{ combined { name access } }",
    "flag combination in a nullable field of a list": "{ rows { name access maybeAccess } }",
    "instance with its own __await__ after a plain row": "{ plain { name } awaitable { name } }",
    "list item with its own __await__": "{ mixed { name } }",
}


async def run(schema: strawberry.Schema, document: str) -> str:
    result = await schema.execute(document)
    errors = [dict(error.formatted) for error in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors})


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
async def test_odd_values_match_general_path(document: str) -> None:
    assert await run(SHORT_PATH, document) == await run(GENERAL, document)
