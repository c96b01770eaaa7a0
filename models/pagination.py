"""Keyset pagination over (sort key, id), shared by every list and by the exports.

A cursor contains the sort value and the id of a row, so rows that share a sort value are neither
skipped nor repeated, and rows inserted between two requests do not shift the pages. It also names
its list and order, so that it is rejected anywhere else.
"""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Generic, TypeVar, overload

import orjson
from tortoise.exceptions import ValidationError
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from models.errors import InvalidArgument

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
# Primary keys are 32-bit integer columns on both backends.
MAX_ROW_ID = 2**31 - 1
# Decimal sort values are amounts; asyncpg cannot encode exponents far beyond this.
MAX_DECIMAL_EXPONENT = 100

ModelT = TypeVar("ModelT", bound=Model)
RowT = TypeVar("RowT")
# Runs the query of one page, already filtered, ordered and limited; the order is passed along
# for a fetch that wraps the query in another one.
Fetch = Callable[[QuerySet[ModelT], Sequence[str]], Awaitable[list[RowT]]]
# Counts the rows of a list across all its pages; called only when `totalCount` is asked for.
Count = Callable[[], Awaitable[int]]


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


class Cursors(Sequence[str]):
    """The cursors of a page's rows, each encoded when first read.

    A page read through `nodes` needs only the cursors of its first and last rows. The positions
    are read from the rows at once, because a list may change its rows' values after choosing
    them, as the customers list does for an agent's own figures.
    """

    __slots__ = ("_encoded", "_positions", "_scope", "_sort")

    def __init__(self, sort: "SortKey", rows: Sequence[Any], scope: str) -> None:
        self._sort = sort
        self._positions = [(sort.read(row), row.id) for row in rows]
        self._scope = scope
        self._encoded: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[position] for position in range(len(self))[index]]
        position = range(len(self))[index]
        cursor = self._encoded.get(position)
        if cursor is None:
            value, row_id = self._positions[position]
            cursor = _encode_position(self._sort, value, row_id, self._scope)
            self._encoded[position] = cursor
        return cursor


@dataclass(slots=True)
class Page(Generic[RowT]):
    rows: list[RowT]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool
    count: Count


def _order_name(sort: SortKey, scope: str) -> str:
    direction = "desc" if sort.descending else "asc"
    return f"{scope}.{sort.path} {direction}"


def encode_cursor(sort: SortKey, row: Any, *, scope: str = "") -> str:
    """Encode the position of `row`, tagged with the list (`scope`) and order it belongs to."""
    return _encode_position(sort, sort.read(row), row.id, scope)


def _encode_position(sort: SortKey, value: Any, row_id: int, scope: str) -> str:
    if isinstance(value, datetime | date | Decimal):
        value = str(value) if isinstance(value, Decimal) else value.isoformat()
    raw = orjson.dumps([_order_name(sort, scope), value, row_id])
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(sort: SortKey, cursor: str, *, scope: str = "") -> tuple[Any, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        order, value, row_id = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        # A cursor of another order may parse as this one's, as two timestamps do, but it would
        # seek to an unrelated position. So a cursor works only in the list and order it came from.
        if order != _order_name(sort, scope):
            raise ValueError(f"cursor of order {order!r}")
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise TypeError("id is not an integer")
        if not 1 <= row_id <= MAX_ROW_ID:
            raise ValueError(f"id {row_id} is out of range")
        return _parse_sort_value(sort.kind, value), row_id
    except (ValueError, TypeError, OverflowError, binascii.Error, InvalidOperation) as error:
        raise _invalid_cursor(cursor) from error


def _invalid_cursor(cursor: str) -> InvalidArgument:
    return InvalidArgument(
        f"Cursor {cursor!r} is not valid for this list and order; pass a cursor "
        "returned by the same field with the same `orderBy`, or none to start over."
    )


def _parse_sort_value(kind: SortValueKind, value: Any) -> Any:
    if kind is SortValueKind.DATETIME:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("timestamp without offset")
        # astimezone raises OverflowError for instants before year 1 or after year 9999 in UTC,
        # such as 0001-01-01T00:00+14:00, which the database drivers cannot store either.
        return parsed.astimezone(UTC)
    if kind is SortValueKind.DATE:
        return date.fromisoformat(value)
    if kind is SortValueKind.DECIMAL:
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError(f"decimal {number} is not finite")
        exponent = number.as_tuple().exponent
        if max(abs(int(exponent)), abs(number.adjusted())) > MAX_DECIMAL_EXPONENT:
            raise ValueError(f"decimal {number} is out of range")
        return number
    if kind is SortValueKind.INTEGER:
        if not isinstance(value, int):
            raise TypeError("not an integer")
        return value
    if not isinstance(value, str):
        raise TypeError("not a string")
    # PostgreSQL text cannot hold NUL characters.
    if "\x00" in value:
        raise ValueError("text with a NUL character")
    return value


def _beyond(sort: SortKey, cursor: tuple[Any, int]) -> Q:
    """Match the rows that come after `cursor` in the order of `sort`."""
    value, row_id = cursor
    operator = "lt" if sort.descending else "gt"
    past_value: dict[str, Any] = {f"{sort.path}__{operator}": value}
    tied_value: dict[str, Any] = {sort.path: value, f"id__{operator}": row_id}
    # The first condition is implied by the other two. It is there because it alone is a range
    # on the sort column that an index can seek to, when the sort column and `id` are in
    # different tables and so share no index.
    not_before: dict[str, Any] = {f"{sort.path}__{operator}e": value}
    return Q(**not_before) & (Q(**past_value) | Q(**tied_value))


def _ordering(sort: SortKey) -> Sequence[str]:
    sign = "-" if sort.descending else ""
    return (f"{sign}{sort.path}", f"{sign}id")


async def paginate(
    queryset: QuerySet[ModelT],
    sort: SortKey,
    request: PageRequest,
    *,
    count: Count | None = None,
) -> Page[ModelT]:
    """Fetch one page of `queryset` in the order of `sort`, as Relay's cursor connections do."""
    return await paginate_rows(queryset, sort, request, _fetch_models, count=count)


async def paginate_rows(
    queryset: QuerySet[ModelT],
    sort: SortKey,
    request: PageRequest,
    fetch: Fetch[ModelT, RowT],
    *,
    count: Count | None = None,
) -> Page[RowT]:
    """Fetch one page of `queryset` as `fetch` reads it, such as plain rows instead of models.

    The rows need the attributes that `sort` reads and an `id`, for the cursors.

    `count` counts the rows of `queryset`, for `Page.count`; by default `queryset.count()`. Pass
    one when `queryset` carries joins or conditions that only help the database read rows in
    order, or when a stored tally gives the count.
    """
    request.check()
    if count is None:
        count = queryset.count

    backward = request.last is not None or (request.before is not None and request.first is None)
    if backward:
        return await _page_backward(queryset, sort, request, fetch, count)
    return await _page_forward(queryset, sort, request, fetch, count)


def _between_cursors(
    queryset: QuerySet[ModelT], sort: SortKey, request: PageRequest
) -> QuerySet[ModelT]:
    """Keep the rows between the request's `after` and `before` cursors."""
    scope = queryset.model._meta.db_table
    if request.after is not None:
        after = decode_cursor(sort, request.after, scope=scope)
        queryset = queryset.filter(_beyond(sort, after))
    if request.before is not None:
        before = decode_cursor(sort, request.before, scope=scope)
        queryset = queryset.filter(_beyond(sort.reversed(), before))
    return queryset


async def _fetch_models(queryset: QuerySet[ModelT], ordering: Sequence[str]) -> list[ModelT]:
    return list(await queryset)


async def _fetch(
    queryset: QuerySet[ModelT],
    ordering: Sequence[str],
    fetch: Fetch[ModelT, RowT],
    request: PageRequest,
) -> list[RowT]:
    try:
        return await fetch(queryset.order_by(*ordering), ordering)
    except ValidationError as error:
        # Tortoise checks filter values against their column, so a cursor's text longer than
        # the column allows fails here rather than in `decode_cursor`.
        cursor = request.after if request.after is not None else request.before
        if cursor is None:
            raise
        raise _invalid_cursor(cursor) from error


def _cursors(queryset: QuerySet[ModelT], sort: SortKey, rows: Sequence[Any]) -> Cursors:
    return Cursors(sort, rows, queryset.model._meta.db_table)


async def _page_forward(
    queryset: QuerySet[ModelT],
    sort: SortKey,
    request: PageRequest,
    fetch: Fetch[ModelT, RowT],
    count: Count,
) -> Page[RowT]:
    size = DEFAULT_PAGE_SIZE if request.first is None else request.first
    queryset = _between_cursors(queryset, sort, request)

    rows = await _fetch(queryset.limit(size + 1), _ordering(sort), fetch, request)
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows=rows,
        cursors=_cursors(queryset, sort, rows),
        has_next_page=has_more,
        has_previous_page=request.after is not None,
        count=count,
    )


async def _page_backward(
    queryset: QuerySet[ModelT],
    sort: SortKey,
    request: PageRequest,
    fetch: Fetch[ModelT, RowT],
    count: Count,
) -> Page[RowT]:
    size = DEFAULT_PAGE_SIZE if request.last is None else request.last
    queryset = _between_cursors(queryset, sort, request)

    rows = await _fetch(queryset.limit(size + 1), _ordering(sort.reversed()), fetch, request)
    has_more = len(rows) > size
    rows = rows[:size]
    rows.reverse()
    return Page(
        rows=rows,
        cursors=_cursors(queryset, sort, rows),
        has_next_page=request.before is not None,
        has_previous_page=has_more,
        count=count,
    )
