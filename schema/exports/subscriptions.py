"""`exportUpdated`: an export's status and progress, pushed until the job ends."""

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry

from models.access import Viewer
from models.commands.auth import viewer_for_token
from models.commands.exports import visible_exports
from models.enums import ExportStatus
from models.errors import NotFound
from models.exports import Export as ExportRow
from schema.context import Info, NotAuthenticated
from schema.exports.types import Export
from schema.relay import from_global_id

FINISHED = frozenset({ExportStatus.DONE, ExportStatus.FAILED, ExportStatus.EXPIRED})


@strawberry.type
class ExportSubscriptions:
    @strawberry.subscription(
        description=(
            "The export now and again each time its status or progress changes, until it is "
            "DONE, FAILED or EXPIRED; then the subscription completes. Visible exports are "
            "those `node(id:)` returns; any other ID gives NOT_FOUND."
        )
    )
    async def export_updated(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID of the export.")],
    ) -> AsyncGenerator[Export, None]:
        viewer = await _current_viewer(info)
        pk = _export_pk(id)
        interval = info.context.require_exports().poll_interval.total_seconds()

        row = await _visible_export(viewer, pk, id)
        yield Export.from_row(row)
        # Polling the row, not an in-process signal, because the job may run in another process.
        while row.status not in FINISHED:
            seen = _progress_of(row)
            await asyncio.sleep(interval)
            row = await _visible_export(viewer, pk, id)
            if _progress_of(row) != seen:
                yield Export.from_row(row)


async def _current_viewer(info: Info) -> Viewer:
    """Check the connection's token again, so a token revoked after connecting starts nothing.

    A WebSocket connection signs in once; each new subscription on it checks the token again.
    """
    context = info.context
    if context.token is None:
        return context.require_viewer()
    viewer = await viewer_for_token(context.token)
    if viewer is None:
        raise NotAuthenticated(
            "The token of this connection expired or was revoked; sign in again and open a "
            "new connection."
        )
    return viewer


def _export_pk(global_id: str) -> int:
    type_name, pk = from_global_id(global_id)
    if type_name != "Export":
        raise NotFound(f"No object has ID {global_id!r}.")
    return pk


async def _visible_export(viewer: Viewer, pk: int, global_id: str) -> ExportRow:
    row: ExportRow | None = await visible_exports(viewer).get_or_none(id=pk)
    if row is None:
        raise NotFound(f"No object has ID {global_id!r}.")
    return row


def _progress_of(row: ExportRow) -> tuple[ExportStatus, int, int | None]:
    return row.status, row.rows_written, row.rows_expected
