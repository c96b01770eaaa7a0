"""The short path for plain scalar fields returns what graphql-core's general path returns.

Results are compared as JSON text, so that the order of the fields counts too.
"""

import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import pytest
import strawberry

from schema.execution import ShortPathExecutionContext


@strawberry.enum
class Colour(Enum):
    RED = "red"


@strawberry.type
class Item:
    name: str
    size: int
    colour: Colour
    seen_at: datetime | None
    note: str | None

    @strawberry.field
    def shout(self, times: int = 1) -> str:
        return self.name.upper() * times

    @strawberry.field
    async def later(self) -> int:
        return self.size

    @strawberry.field
    def twin(self) -> "Item":
        return self


ITEMS: list[Item | None] = [
    Item(
        name="kite", size=2, colour=Colour.RED, seen_at=datetime(2026, 1, 1, tzinfo=UTC), note=None
    ),
    # Values a buggy resolver might leave behind: null in a non-null field, text in an Int.
    Item(name=None, size=3, colour=Colour.RED, seen_at=None, note="x"),  # type: ignore[arg-type]
    Item(name="sail", size="big", colour=Colour.RED, seen_at=None, note=None),  # type: ignore[arg-type]
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS


GENERAL = strawberry.Schema(query=Query)
SHORT_PATH = strawberry.Schema(query=Query, execution_context_class=ShortPathExecutionContext)

DOCUMENTS = {
    "plain fields": "{ items { name size colour seenAt note } }",
    "aliases and arguments": "{ items { n: name shout(times: 2) size } }",
    "skipped fields": "{ items { name @skip(if: true) size @include(if: false) note } }",
    "objects between scalars": "{ items { note twin { size name } colour twin { seenAt } } }",
    "async field between scalars": "{ items { size later name twin { later note } } }",
}


async def run(schema: strawberry.Schema, document: str) -> dict[str, Any]:
    result = await schema.execute(document)
    errors = [error.formatted for error in result.errors or []]
    return {"data": result.data, "errors": errors}


@pytest.mark.parametrize("document", DOCUMENTS.values(), ids=DOCUMENTS.keys())
async def test_short_path_matches_general_path(document):
    short_path = await run(SHORT_PATH, document)
    general = await run(GENERAL, document)

    assert json.dumps(short_path, default=str) == json.dumps(general, default=str)


async def test_short_path_reports_null_in_non_null_field():
    errors = (await run(SHORT_PATH, "{ items { name } }"))["errors"]

    assert [error["path"] for error in errors] == [["items", 1, "name"]]


async def test_short_path_reports_value_the_scalar_rejects():
    errors = (await run(SHORT_PATH, "{ items { size } }"))["errors"]

    assert [error["path"] for error in errors] == [["items", 2, "size"]]
