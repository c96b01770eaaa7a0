"""Export jobs as the API shows them."""

from datetime import UTC, datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON

from models import exports
from models.enums import CsvDelimiter, ExportList, ExportStatus
from schema.context import Info
from schema.relay import Node, to_global_id
from schema.users.types import User

strawberry.enum(ExportList, description="Which list an export writes.")
strawberry.enum(
    ExportStatus,
    description=(
        "QUEUED, then RUNNING, then DONE with a file or FAILED with an error; EXPIRED once the "
        "file was deleted after the retention period."
    ),
)
strawberry.enum(CsvDelimiter, description="Character between the cells of a CSV row.")


@strawberry.type(description="How far an export job got.")
class ExportProgress:
    rows_written: int = strawberry.field(description="Rows written to the file so far.")
    rows_expected: int | None = strawberry.field(
        description="Rows the filter selected when the job started; null until then."
    )


@strawberry.type(description="A CSV export job and, once DONE, its file.")
class Export(Node):
    list: ExportList = strawberry.field(description="The list exported.")
    status: ExportStatus = strawberry.field(description="Where the job stands.")
    row_count: int | None = strawberry.field(description="Rows in the file, once DONE.")
    progress: ExportProgress = strawberry.field(description="Rows written and expected.")
    file_name: str | None = strawberry.field(description="Name of the file, once DONE.")
    filter: JSON = strawberry.field(description="The filter the export ran with.")
    options: JSON = strawberry.field(description="The CSV options the export ran with.")
    error: str | None = strawberry.field(description="Why the job FAILED, if it did.")
    created_at: datetime = strawberry.field(description="When the export was requested.")
    finished_at: datetime | None = strawberry.field(description="When the job ended, if it did.")
    expires_at: datetime = strawberry.field(
        description="When the file is deleted and the export becomes EXPIRED."
    )
    pk: strawberry.Private[int]
    requested_by_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: exports.Export) -> "Export":
        done = row.status is ExportStatus.DONE
        return cls(
            id=to_global_id("Export", row.id),
            list=row.list,
            status=row.status,
            row_count=row.rows_written if done else None,
            progress=ExportProgress(rows_written=row.rows_written, rows_expected=row.rows_expected),
            file_name=row.file_name or None,
            filter=cast(JSON, row.filters),
            options=cast(JSON, row.options),
            error=row.error or None,
            created_at=row.created_at,
            finished_at=row.finished_at,
            expires_at=row.expires_at,
            pk=row.id,
            requested_by_pk=row.requested_by_id,
        )

    @strawberry.field(
        description=(
            "Signed download URL, valid for a short time from this read; null until DONE and "
            "after `expiresAt`. Read it again for a fresh one."
        )
    )
    def url(self, info: Info) -> str | None:
        if self.status is not ExportStatus.DONE or self.expires_at <= datetime.now(UTC):
            return None
        return info.context.require_exports().download_url(self.pk)

    @strawberry.field(description="The user who requested the export.")
    async def requested_by(self, info: Info) -> User | None:
        row = await info.context.loaders.user_by_id.load(self.requested_by_pk)
        return User.from_row(row) if row else None
