"""The `exports` list."""

from typing import Annotated

import strawberry

from models.commands.exports import visible_exports
from models.pagination import SortKey, SortValueKind, paginate
from schema.context import Info, viewer_of
from schema.exports.types import Export
from schema.relay import AFTER, BEFORE, FIRST, LAST, Connection, build_connection, page_request

NEWEST_FIRST = SortKey("created_at", SortValueKind.DATETIME, lambda e: e.created_at, True)


@strawberry.type
class ExportQueries:
    @strawberry.field(
        description=(
            "CSV exports of your organization, newest first: all of them for admins, your own "
            "for everyone else."
        )
    )
    async def exports(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[Export]:
        page = await paginate(
            visible_exports(viewer_of(info)),
            NEWEST_FIRST,
            page_request(first, after, last, before),
        )
        return build_connection(page, Export.from_row)
