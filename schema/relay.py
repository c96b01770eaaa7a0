"""Relay building blocks: global IDs, the Node interface and cursor connections."""

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from models.errors import InvalidArgument
from models.pagination import MAX_PAGE_SIZE, MAX_ROW_ID, Page, PageRequest

NodeT = TypeVar("NodeT")
RowT = TypeVar("RowT")


# Turns standard base64 into URL-safe base64: "+" becomes "-" and "/" becomes "_".
_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    # What `base64.urlsafe_b64encode` returns without its padding, in fewer calls: a page of
    # bookings builds about 500 IDs.
    raw = binascii.b2a_base64(f"{type_name}:{pk}".encode(), newline=False)
    # strawberry.ID is a NewType of str: calling it would cost a third of the function.
    return raw.translate(_URL_SAFE).rstrip(b"=").decode("ascii")  # type: ignore[return-value]


def from_global_id(global_id: str) -> tuple[str, int]:
    """Split a global ID into its type name and primary key."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
        type_name, _, pk = raw.partition(":")
        number = int(pk)
    except (ValueError, UnicodeError, binascii.Error) as error:
        raise InvalidArgument(
            f"ID {global_id!r} is not a tourdesk ID; pass the `id` of an object from this API."
        ) from error
    if not type_name or not 1 <= number <= MAX_ROW_ID or str(number) != pk:
        raise InvalidArgument(
            f"ID {global_id!r} is not a tourdesk ID; pass the `id` of an object from this API."
        )
    return type_name, number


def pk_of(global_id: str, type_name: str, argument: str = "id") -> int:
    """Return the primary key of a global ID that must name an object of `type_name`."""
    found_type, pk = from_global_id(global_id)
    if found_type != type_name:
        raise InvalidArgument(
            f"`{argument}` is {global_id!r}, the ID of a {found_type}, "
            f"but a {type_name} ID is expected."
        )
    return pk


@strawberry.interface(description="An object with a global ID that `node(id:)` fetches again.")
class Node:
    id: strawberry.ID = strawberry.field(description="Global ID of the object.")


@strawberry.type(description="Where a page sits in its list, for fetching the next or previous.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more rows follow this page.")
    has_previous_page: bool = strawberry.field(description="True when rows precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first row, if any.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last row, if any.")


@strawberry.type(description="A row of a page and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Pass as `after` or `before` to page from here.")
    node: NodeT = strawberry.field(description="The row.")


def _edges(root: "Connection[NodeT]") -> list[Edge[NodeT]]:
    """Pair each row with its cursor, only for a document that selects `edges`."""
    return [Edge(cursor=c, node=n) for c, n in zip(root.cursors, root.nodes, strict=True)]


@strawberry.type(description="One page of a list, in Relay's cursor connection shape.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(
        resolver=_edges, description="The rows with their cursors."
    )
    nodes: list[NodeT] = strawberry.field(description="The rows, without cursors.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more rows exist.")
    # Encoded as they are read: a page read through `nodes` needs only the first and last.
    cursors: strawberry.Private[Sequence[str]]
    count_rows: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of rows matching the filter, across all pages.")
    async def total_count(self) -> int:
        return await self.count_rows()


def build_connection(page: Page[RowT], convert: Callable[[RowT], NodeT]) -> Connection[NodeT]:
    return Connection(
        nodes=[convert(row) for row in page.rows],
        cursors=page.cursors,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count_rows=page.count,
    )


def _fields(selections: list[Selection]) -> list[SelectedField]:
    """Return the fields of a selection set, with those of its fragments."""
    found: list[SelectedField] = []
    for selection in selections:
        if isinstance(selection, SelectedField):
            found.append(selection)
        else:
            found.extend(_fields(selection.selections))
    return found


def selects_node_field(info: strawberry.Info, name: str) -> bool:
    """Tell whether a connection field's nodes, directly or through edges, select `name`.

    Fields skipped by `@skip` or `@include` count as selected: reading their rows needlessly
    costs less than a mistake in evaluating the directives would.
    """
    for connection in info.selected_fields:
        for item in _fields(connection.selections):
            nodes = [item] if item.name == "nodes" else []
            if item.name == "edges":
                nodes = [edge for edge in _fields(item.selections) if edge.name == "node"]
            for node in nodes:
                if any(field.name == name for field in _fields(node.selections)):
                    return True
    return False


def page_request(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageRequest:
    return PageRequest(first=first, after=after, last=last, before=before)


FIRST = strawberry.argument(description=f"Rows after `after`, at most {MAX_PAGE_SIZE}.")
AFTER = strawberry.argument(description="Cursor to start after.")
LAST = strawberry.argument(description=f"Rows before `before`, at most {MAX_PAGE_SIZE}.")
BEFORE = strawberry.argument(description="Cursor to end before.")

__all__: Sequence[str] = (
    "AFTER",
    "BEFORE",
    "FIRST",
    "LAST",
    "Connection",
    "Edge",
    "Node",
    "PageInfo",
    "build_connection",
    "from_global_id",
    "page_request",
    "pk_of",
    "selects_node_field",
    "to_global_id",
)
