"""CSV export jobs: what was asked, by whom, and how far the job got."""

from typing import Any

from tortoise import fields
from tortoise.models import Model

from models.enums import ExportList, ExportStatus
from models.organizations import Organization
from models.users import User


class Export(Model):
    """One export job and the record of it, kept after its file expires."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="exports", on_delete=fields.CASCADE, db_index=True
    )
    organization_id: int
    requested_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="exports", on_delete=fields.CASCADE, db_index=True
    )
    requested_by_id: int
    list = fields.CharEnumField(ExportList, max_length=16)
    # The filter and options as the API received them, with GraphQL field names.
    filters: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    options: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    status = fields.CharEnumField(ExportStatus, max_length=16, db_index=True)
    rows_written = fields.IntField(default=0)
    rows_expected = fields.IntField(null=True)
    file_name = fields.CharField(max_length=255, default="")
    # Where the file lies in export storage; made by the server, never taken from a request.
    storage_key = fields.CharField(max_length=255, default="")
    error = fields.TextField(default="")
    # Runs of the job, not counting those the database interrupted (see database_retries).
    attempts = fields.IntField(default=0)
    # Runs given back to the queue because the database was busy or unreachable, and the time
    # before which no worker claims the job again.
    database_retries = fields.IntField(default=0, db_default=0)
    retry_after = fields.DatetimeField(null=True)
    # The worker that runs the job, and when it last showed it is alive.
    claimed_by = fields.CharField(max_length=64, default="")
    heartbeat_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(db_index=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    # When the file is deleted and the export becomes EXPIRED.
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "export"

    def __str__(self) -> str:
        return f"export {self.id} {self.list} {self.status}"
