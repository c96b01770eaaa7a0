"""Keyset pagination over (sort key, id), shared by every list and by the exports.

A cursor holds the sort value and the id of a row, so rows that share a sort value are neither
skipped nor repeated, and rows inserted between two requests do not shift the pages.
"""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Generic, TypeVar

import orjson
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.errors import InvalidArgument

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

ModelT = TypeVar("ModelT", bound=Model)


class SortValueKind(StrEnum):
    DATETIME = "datetime"
    DATE = "date"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"


@dataclass(frozen=True, slots=True)
class SortKey:
    """A non-null column to sort on: its ORM path, how to read it from a row, and its kind."""

    path: str
    kind: SortValueKind
    read: Callable[[Any], Any]
    descending: bool = False

    def reversed(self) -> "SortKey":
        return SortKey(self.path, self.kind, self.read, not self.descending)


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def check(self) -> None:
        if self.first is not None and self.last is not None:
            raise InvalidArgument(
                "Pass either `first` or `last`, not both: "
                f"received first: {self.first} and last: {self.last}."
            )
        for name, size in (("first", self.first), ("last", self.last)):
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise InvalidArgument(
                    f"`{name}` is {size}; it must be between 0 and {MAX_PAGE_SIZE}. "
                    "Request further pages with the cursor in `pageInfo.endCursor`."
                )


@dataclass(slots=True)
class Page(Generic[ModelT]):
    rows: list[ModelT]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]


def encode_cursor(sort: SortKey, row: Any) -> str:
    value = sort.read(row)
    if isinstance(value, datetime | date | Decimal):
        value = str(value) if isinstance(value, Decimal) else value.isoformat()
    raw = orjson.dumps([value, row.id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(sort: SortKey, cursor: str) -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, row_id = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise TypeError("id is not an integer")
        return _parse_sort_value(sort.kind, value), row_id
    except (ValueError, TypeError, binascii.Error, InvalidOperation, orjson.JSONDecodeError) as e:
        raise InvalidArgument(
            f"Cursor {cursor!r} is not valid for this list and order; pass a cursor "
            "returned by the same field with the same `orderBy`, or none to start over."
        ) from e


def _parse_sort_value(kind: SortValueKind, value: Any) -> Any:
    if kind is SortValueKind.DATETIME:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("timestamp without offset")
        return parsed
    if kind is SortValueKind.DATE:
        return date.fromisoformat(value)
    if kind is SortValueKind.DECIMAL:
        return Decimal(value)
    if kind is SortValueKind.INTEGER:
        if not isinstance(value, int):
            raise TypeError("not an integer")
        return value
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _beyond(sort: SortKey, cursor: tuple[Any, int]) -> Q:
    """Match the rows that come after `cursor` in the order of `sort`."""
    value, row_id = cursor
    operator = "lt" if sort.descending else "gt"
    past_value: dict[str, Any] = {f"{sort.path}__{operator}": value}
    tied_value: dict[str, Any] = {sort.path: value, f"id__{operator}": row_id}
    return Q(**past_value) | Q(**tied_value)


def _ordering(sort: SortKey) -> Sequence[str]:
    sign = "-" if sort.descending else ""
    return (f"{sign}{sort.path}", f"{sign}id")


async def paginate(queryset: QuerySet[ModelT], sort: SortKey, request: PageRequest) -> Page[ModelT]:
    """Fetch one page of `queryset` in the order of `sort`, as Relay's cursor connections do."""
    request.check()

    async def count() -> int:
        return await queryset.count()

    backward = request.last is not None or (request.before is not None and request.first is None)
    if backward:
        return await _page_backward(queryset, sort, request, count)
    return await _page_forward(queryset, sort, request, count)


async def _page_forward(
    queryset: QuerySet[ModelT],
    sort: SortKey,
    request: PageRequest,
    count: Callable[[], Awaitable[int]],
) -> Page[ModelT]:
    size = DEFAULT_PAGE_SIZE if request.first is None else request.first
    if request.after:
        queryset = queryset.filter(_beyond(sort, decode_cursor(sort, request.after)))
    if request.before:
        queryset = queryset.filter(_beyond(sort.reversed(), decode_cursor(sort, request.before)))

    rows = list(await queryset.order_by(*_ordering(sort)).limit(size + 1))
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows=rows,
        cursors=[encode_cursor(sort, row) for row in rows],
        has_next_page=has_more,
        has_previous_page=request.after is not None,
        count=count,
    )


async def _page_backward(
    queryset: QuerySet[ModelT],
    sort: SortKey,
    request: PageRequest,
    count: Callable[[], Awaitable[int]],
) -> Page[ModelT]:
    size = DEFAULT_PAGE_SIZE if request.last is None else request.last
    if request.before:
        queryset = queryset.filter(_beyond(sort.reversed(), decode_cursor(sort, request.before)))
    if request.after:
        queryset = queryset.filter(_beyond(sort, decode_cursor(sort, request.after)))

    rows = list(await queryset.order_by(*_ordering(sort.reversed())).limit(size + 1))
    has_more = len(rows) > size
    rows = rows[:size]
    rows.reverse()
    return Page(
        rows=rows,
        cursors=[encode_cursor(sort, row) for row in rows],
        has_next_page=request.before is not None,
        has_previous_page=has_more,
        count=count,
    )
