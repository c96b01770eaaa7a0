"""Export jobs as database rows: requesting, claiming, progress, finishing and recovery."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from models.access import Permission, Viewer
from models.enums import CsvDelimiter, ExportList, ExportStatus
from models.errors import NotFound
from models.exports import Export
from models.queries.export_filters import ListFilter, filter_to_json
from models.queries.visibility import require

logger = logging.getLogger(__name__)

EXPORT_PERMISSIONS = {
    ExportList.GUESTS: Permission.EXPORT_GUESTS,
    ExportList.CUSTOMERS: Permission.EXPORT_CUSTOMERS,
    ExportList.USERS: Permission.MANAGE_USERS,
}

# A job is tried this many times when its process dies before it ends, then marked FAILED.
MAX_ATTEMPTS = 3
# A job that a busy or unreachable database interrupts goes back to the queue this many times,
# then is marked FAILED.
MAX_DATABASE_RETRIES = 5


def require_export_permission(viewer: Viewer, list_name: ExportList) -> None:
    require(viewer, EXPORT_PERMISSIONS[list_name])


@dataclass(frozen=True, slots=True)
class ExportOptions:
    byte_order_mark: bool = False
    delimiter: CsvDelimiter = CsvDelimiter.COMMA
    marketing_consent_only: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "byteOrderMark": self.byte_order_mark,
            "delimiter": self.delimiter.value,
            "marketingConsentOnly": self.marketing_consent_only,
        }

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> "ExportOptions":
        return cls(
            byte_order_mark=bool(stored.get("byteOrderMark", False)),
            delimiter=CsvDelimiter(stored.get("delimiter", CsvDelimiter.COMMA.value)),
            marketing_consent_only=bool(stored.get("marketingConsentOnly", False)),
        )


async def request_export(
    viewer: Viewer,
    list_name: ExportList,
    list_filter: ListFilter,
    options: ExportOptions,
    *,
    retention: timedelta,
) -> Export:
    """Queue an export; the caller has checked the filter by building its query."""
    require_export_permission(viewer, list_name)
    now = datetime.now(UTC)
    export = await Export.create(
        organization_id=viewer.organization_id,
        requested_by_id=viewer.user_id,
        list=list_name,
        filters=filter_to_json(list_filter),
        options=options.to_json(),
        status=ExportStatus.QUEUED,
        created_at=now,
        expires_at=now + retention,
    )
    logger.info("Export %s of %s queued by user %s", export.id, list_name.value, viewer.user_id)
    return export


def visible_exports(viewer: Viewer) -> Any:
    """Select the exports the viewer may see: all of the organization's for admins, else own.

    Own exports of a list the viewer may no longer export are hidden too, so a user who loses a
    role also loses the files that role let them write.
    """
    queryset = Export.filter(organization_id=viewer.organization_id)
    if not viewer.can(Permission.MANAGE_USERS):
        exportable = [
            list_name
            for list_name, permission in EXPORT_PERMISSIONS.items()
            if viewer.can(permission)
        ]
        queryset = queryset.filter(requested_by_id=viewer.user_id, list__in=exportable)
    return queryset


async def get_visible_export(viewer: Viewer, export_id: int) -> Export:
    export: Export | None = await visible_exports(viewer).get_or_none(id=export_id)
    if export is None:
        raise NotFound(f"Export {export_id} was not found.")
    return export


async def claim_next_export(worker_id: str) -> Export | None:
    """Mark the oldest QUEUED export RUNNING for this worker, so that only one worker runs it.

    PostgreSQL skips rows other workers have locked; SQLite takes one writer at a time, and the
    conditional update lets only one claimant win. A job waiting out its database retry delay
    is left in the queue.
    """
    now = datetime.now(UTC)
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        async with in_transaction() as transaction:
            rows = await transaction.execute_query_dict(
                "SELECT id FROM export WHERE status = $1 "
                "AND (retry_after IS NULL OR retry_after <= $2) ORDER BY id LIMIT 1 "
                "FOR UPDATE SKIP LOCKED",
                [ExportStatus.QUEUED.value, now],
            )
            if not rows:
                return None
            export_id = rows[0]["id"]
            await (
                Export.filter(id=export_id)
                .using_db(transaction)
                .update(
                    status=ExportStatus.RUNNING,
                    claimed_by=worker_id,
                    started_at=now,
                    heartbeat_at=now,
                    attempts=F("attempts") + 1,
                )
            )
    else:
        candidate = (
            await Export.filter(
                Q(retry_after=None) | Q(retry_after__lte=now), status=ExportStatus.QUEUED
            )
            .order_by("id")
            .first()
        )
        if candidate is None:
            return None
        export_id = candidate.id
        claimed = await Export.filter(id=export_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.RUNNING,
            claimed_by=worker_id,
            started_at=now,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return None

    export = await Export.get(id=export_id)
    logger.info(
        "Export %s claimed by worker %s (attempt %s)", export.id, worker_id, export.attempts
    )
    return export


async def record_progress(export: Export, rows_written: int, rows_expected: int | None) -> None:
    await Export.filter(id=export.id, claimed_by=export.claimed_by).update(
        rows_written=rows_written,
        rows_expected=rows_expected,
        heartbeat_at=datetime.now(UTC),
    )


async def start_writing(export: Export, storage_key: str) -> None:
    """Record where the job writes, so sweeps of other processes leave its partial file alone."""
    await Export.filter(id=export.id, claimed_by=export.claimed_by).update(storage_key=storage_key)


async def running_storage_keys(fresh_after: datetime) -> list[str]:
    """Return the storage keys of jobs whose worker sent a heartbeat since `fresh_after`."""
    keys = await Export.filter(
        status=ExportStatus.RUNNING, heartbeat_at__gte=fresh_after
    ).values_list("storage_key", flat=True)
    return [str(key) for key in keys if key]


async def finish_export(export: Export, *, rows: int, file_name: str, storage_key: str) -> bool:
    """Mark a job DONE; return False when another worker took it over meanwhile."""
    finished = await Export.filter(id=export.id, claimed_by=export.claimed_by).update(
        status=ExportStatus.DONE,
        rows_written=rows,
        rows_expected=rows,
        file_name=file_name,
        storage_key=storage_key,
        finished_at=datetime.now(UTC),
        error="",
    )
    if not finished:
        logger.warning("Export %s was taken over by another worker; dropping this run", export.id)
        return False
    logger.info("Export %s done with %s rows", export.id, rows)
    return True


async def fail_export(export: Export, reason: str) -> None:
    # Only the worker that holds the job may fail it: a run taken over after a stale heartbeat
    # must not fail the run that replaced it.
    await Export.filter(id=export.id, claimed_by=export.claimed_by).update(
        status=ExportStatus.FAILED,
        error=reason,
        finished_at=datetime.now(UTC),
        storage_key="",
    )
    logger.warning("Export %s failed: %s", export.id, reason)


async def queue_again_after_database_error(export: Export, *, retry_after: datetime) -> bool:
    """Give a job the database interrupted back to the queue, to be claimed after `retry_after`.

    The interrupted run counts as a database retry, not as an attempt. Returns False when
    another worker took the job over meanwhile, whose run then goes on.
    """
    queued = await Export.filter(
        id=export.id, status=ExportStatus.RUNNING, claimed_by=export.claimed_by
    ).update(
        status=ExportStatus.QUEUED,
        claimed_by="",
        rows_written=0,
        storage_key="",
        attempts=F("attempts") - 1,
        database_retries=F("database_retries") + 1,
        retry_after=retry_after,
    )
    return bool(queued)


async def recover_stale_exports(stale_after: timedelta) -> tuple[int, int]:
    """Queue again, or fail, RUNNING exports whose worker stopped sending heartbeats.

    Returns how many were queued again and how many failed.
    """
    cutoff = datetime.now(UTC) - stale_after
    stale = await Export.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None), status=ExportStatus.RUNNING
    )
    requeued = failed = 0
    for export in stale:
        if export.attempts < MAX_ATTEMPTS:
            changed = await Export.filter(
                id=export.id, status=ExportStatus.RUNNING, claimed_by=export.claimed_by
            ).update(status=ExportStatus.QUEUED, claimed_by="", rows_written=0, storage_key="")
            requeued += changed
            if changed:
                logger.warning(
                    "Export %s was left running by worker %s; queued it again",
                    export.id,
                    export.claimed_by,
                )
        else:
            reason = (
                f"The server process running this export stopped {export.attempts} times; "
                "request the export again, with a narrower filter if it is very large."
            )
            changed = await Export.filter(
                id=export.id, status=ExportStatus.RUNNING, claimed_by=export.claimed_by
            ).update(status=ExportStatus.FAILED, error=reason, finished_at=datetime.now(UTC))
            failed += changed
            if changed:
                logger.warning("Export %s failed after %s attempts", export.id, export.attempts)
    return requeued, failed


async def expire_exports(now: datetime | None = None) -> list[Export]:
    """Mark exports past their retention EXPIRED and return them, so their files can go."""
    now = now or datetime.now(UTC)
    expired = list(
        await Export.filter(expires_at__lte=now).exclude(
            status__in=[ExportStatus.EXPIRED, ExportStatus.RUNNING, ExportStatus.QUEUED]
        )
    )
    for export in expired:
        await Export.filter(id=export.id).update(status=ExportStatus.EXPIRED)
    return expired
