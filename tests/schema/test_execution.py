"""The short execution path returns what graphql-core's general path returns.

Each document runs on a schema with the default execution context and on one with the short
path, and the results, errors included, are compared as JSON text, so that the order of the
fields counts too.
"""

import asyncio
import json
from collections.abc import Awaitable, Generator
from datetime import UTC, datetime
from enum import Enum
from typing import Any, ClassVar

import pytest
import strawberry
from strawberry.permission import BasePermission

from schema.execution import ShortPathExecutionContext, _positional_shape


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
class Trace:
    """What a resolver saw of its call, so the two paths can be compared."""

    path: list[str]
    source: str


class Deny(BasePermission):
    message = "Denied by the test permission."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class Boom(Exception):
    pass


def trace_of(info: strawberry.Info, root: "Leg") -> Trace:
    return Trace(path=[str(key) for key in info.path.as_list()], source=root.name)


@strawberry.type
class Leg:
    name: str
    number: int | None

    @strawberry.field
    def trace(self, info: strawberry.Info) -> Trace:
        return Trace(path=[str(key) for key in info.path.as_list()], source=self.name)

    @strawberry.field
    def parent(self, root: "Leg") -> "Leg":
        return root

    @strawberry.field
    def trace_by_keyword(self, *, info: strawberry.Info) -> Trace:
        return Trace(path=[str(key) for key in info.path.as_list()], source=self.name)

    trace_info_first: Trace = strawberry.field(resolver=trace_of)
    itself: "Leg" = strawberry.field(resolver=lambda root: root)

    @strawberry.field
    def broken(self) -> "Leg":
        raise Boom(f"leg {self.name} is broken")

    @strawberry.field
    def maybe_broken(self) -> "Leg | None":
        raise Boom(f"leg {self.name} may be broken")

    @strawberry.field
    def missing(self) -> "Leg":
        return None  # type: ignore[return-value]

    @strawberry.field
    def missing_or_none(self) -> "Leg | None":
        return None

    @strawberry.field
    def loaded_later(self) -> "Leg":
        return cast_awaitable(self._later())  # type: ignore[no-any-return]

    async def _later(self) -> "Leg":
        await asyncio.sleep(0)
        return self

    @strawberry.field
    async def awaited(self) -> "Leg":
        return self

    @strawberry.field
    def pending(self) -> "Leg":
        return PendingLeg(name=self.name, number=self.number)

    @strawberry.field
    def legs(self) -> list["Leg"]:
        return LEGS

    @strawberry.field
    def legs_with_holes(self) -> list["Leg | None"]:
        return [LEGS[0], None, LEGS[1]]

    @strawberry.field
    def legs_with_null(self) -> list["Leg"]:
        return [LEGS[0], None, LEGS[1]]  # type: ignore[list-item]

    @strawberry.field
    def awaitable_legs(self) -> list["Leg"]:
        return [cast_awaitable(leg._later()) for leg in LEGS]

    @strawberry.field
    def grid(self) -> list[list["Leg"]]:
        return [LEGS, LEGS[:1]]

    @strawberry.field
    def tags(self) -> list[str]:
        return [self.name, self.name.upper()]

    @strawberry.field(permission_classes=[Deny])  # type: ignore[untyped-decorator]
    def guarded(self) -> "Leg | None":
        return self

    @strawberry.field
    def named(self) -> "Named":
        return self  # type: ignore[return-value]

    @strawberry.field
    def not_a_named_leg(self) -> "NamedLeg":
        return self  # type: ignore[return-value]


@strawberry.interface
class Named:
    name: str


@strawberry.type
class NamedLeg(Leg, Named):
    pass


class PendingLeg(Leg):
    """A Strawberry object that can also be awaited, for the leg it stands for."""

    def __await__(self) -> Generator[Any, None, Leg]:
        return self._later().__await__()


def cast_awaitable(value: Awaitable[Any]) -> Any:
    return value


LEGS = [
    Leg(name="one", number=1),
    Leg(name="two", number=None),
    Leg(name=None, number=3),  # type: ignore[arg-type]
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    def legs(self) -> list[Leg | None]:
        return LEGS  # type: ignore[return-value]

    @strawberry.field
    def leg(self) -> Leg:
        return LEGS[0]


GENERAL = strawberry.Schema(query=Query, types=[NamedLeg])
SHORT_PATH = strawberry.Schema(
    query=Query, types=[NamedLeg], execution_context_class=ShortPathExecutionContext
)

DOCUMENTS = {
    "plain fields": "{ items { name size colour seenAt note } }",
    "aliases and arguments": "{ items { n: name shout(times: 2) size } }",
    "skipped fields": "{ items { name @skip(if: true) size @include(if: false) note } }",
    "objects between scalars": "{ items { note twin { size name } colour twin { seenAt } } }",
    "async field between scalars": "{ items { size later name twin { later note } } }",
    "resolver with info": "{ legs { trace { path source } legs { trace { path } } } }",
    "resolver with root": "{ leg { parent { name parent { number } } } }",
    "resolver with keyword info": "{ legs { traceByKeyword { path source } } }",
    "resolver with info first": "{ legs { traceInfoFirst { path source } } }",
    "resolver function of root": "{ leg { itself { name itself { number } } } }",
    "resolver raises, non-null": "{ legs { name broken { name } } }",
    "resolver raises, nullable": "{ leg { maybeBroken { name } number } }",
    "null for non-null object": "{ leg { name missing { name } } }",
    "null for nullable object": "{ leg { missingOrNone { name } } }",
    "null in non-null scalar below": "{ legs { number parent { name } } }",
    "awaitable from sync resolver": "{ leg { loadedLater { name loadedLater { number } } } }",
    "async resolver": "{ leg { awaited { name legs { name } } } }",
    "awaitable object after plain ones": (
        "{ leg { legs { name } pending { name pending { number } } } }"
    ),
    "list with null items": "{ leg { legsWithHoles { name } } }",
    "null in non-null list item": "{ leg { legsWithNull { number } } }",
    "list of awaitables": "{ leg { awaitableLegs { number name } } }",
    "list of lists": "{ leg { grid { number } } }",
    "list of scalars": "{ leg { tags } }",
    "permission class": "{ leg { guarded { name } number } }",
    "interface": "{ leg { named { name __typename } } }",
    "wrong object type": "{ leg { notANamedLeg { name } } }",
    "aliases of one field": "{ leg { a: legs { number } b: legs { name } } }",
    "typename": "{ leg { __typename legs { __typename number } } }",
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


class CountingContext(ShortPathExecutionContext):
    """Counts the fields each path executes."""

    counts: ClassVar[dict[str, int]] = {}

    def _execute_value_field(self, *args: Any, **kwargs: Any) -> Any:
        self.counts["short"] = self.counts.get("short", 0) + 1
        return super()._execute_value_field(*args, **kwargs)

    def execute_field(self, *args: Any, **kwargs: Any) -> Any:
        self.counts["general"] = self.counts.get("general", 0) + 1
        return super().execute_field(*args, **kwargs)


COUNTING = strawberry.Schema(query=Query, types=[NamedLeg], execution_context_class=CountingContext)


async def test_plain_resolvers_take_the_short_path():
    CountingContext.counts = {}

    await run(COUNTING, "{ leg { parent { name } legs { trace { source } } } }")

    # `leg`, `parent`, `legs` and the three `trace` fields are plain resolvers. The general path
    # reports the null `source` of the third leg.
    assert CountingContext.counts == {"general": 1, "short": 6}


async def test_guarded_and_async_resolvers_take_the_general_path():
    CountingContext.counts = {}

    await run(COUNTING, "{ leg { guarded { name } awaited { name } } }")

    assert CountingContext.counts == {"short": 1, "general": 2}


@pytest.mark.parametrize(
    "document",
    [
        DOCUMENTS["resolver raises, non-null"],
        DOCUMENTS["null for non-null object"],
        DOCUMENTS["null in non-null list item"],
        DOCUMENTS["wrong object type"],
    ],
)
async def test_short_path_reports_errors_at_their_path(document):
    short_path = await run(SHORT_PATH, document)

    assert short_path["errors"], "the document is meant to fail"
    assert all(error["path"] for error in short_path["errors"])


def leg_resolver(name: str) -> Any:
    return Leg.__strawberry_definition__.get_field(name).base_resolver  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "shape"),
    [
        ("legs", ("source",)),
        ("trace", ("source", "info")),
        ("parent", ("source", "source")),
        ("trace_by_keyword", None),
        ("trace_info_first", ("info", "source")),
        ("itself", ("source",)),
    ],
)
def test_positional_shape_of_resolvers(field, shape):
    assert _positional_shape(leg_resolver(field)) == shape
