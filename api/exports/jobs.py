"""Running one export: rows from the shared list queries into a CSV file in storage."""

import errno
import logging
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO, Any

from api.exports.csv_format import (
    LIST_FILE_PREFIX,
    CsvLayout,
    csv_writer,
    customer_layout,
    guest_layout,
    user_layout,
)
from api.exports.storage import ExportStorage
from models.access import Viewer
from models.commands.auth import viewer_for_user
from models.commands.exports import (
    ExportOptions,
    fail_export,
    finish_export,
    record_progress,
    require_export_permission,
    start_writing,
)
from models.dates import zone_of
from models.enums import ExportList
from models.errors import DomainError
from models.exports import Export
from models.organizations import Organization
from models.queries.customers import CustomerFilter, customers_query
from models.queries.export_filters import ListFilter, filter_from_json
from models.queries.export_rows import customer_rows, guest_custom_fields, guest_rows, user_rows
from models.queries.guests import GuestFilter, guests_query
from models.queries.users import UserFilter, users_query

logger = logging.getLogger(__name__)

Progress = Callable[[int, int | None], Awaitable[None]]

# Runs of anything but letters and digits, such as spaces, slashes, quotes and underscores.
_NOT_WORD_CHARACTERS = re.compile(r"[\W_]+")
MAX_NAME_PART_LENGTH = 100


async def count_export_rows(viewer: Viewer, list_filter: ListFilter) -> int:
    if isinstance(list_filter, GuestFilter):
        return await guests_query(viewer, list_filter).count()
    if isinstance(list_filter, CustomerFilter):
        return await customers_query(viewer, list_filter).count()
    return await users_query(viewer, list_filter).count()


def apply_options(list_filter: ListFilter, options: ExportOptions) -> ListFilter:
    if options.marketing_consent_only and isinstance(list_filter, CustomerFilter):
        return replace(list_filter, marketing_consent=True)
    return list_filter


async def write_csv(
    viewer: Viewer,
    list_filter: ListFilter,
    options: ExportOptions,
    stream: IO[str],
    progress: Progress,
) -> int:
    """Write the rows the filter selects to `stream` as CSV and return how many there were."""
    list_filter = apply_options(list_filter, options)
    expected = await count_export_rows(viewer, list_filter)
    await progress(0, expected)

    if options.byte_order_mark:
        stream.write("\ufeff")
    writer = csv_writer(stream, options.delimiter)
    layout, batches = await _layout_and_rows(viewer, list_filter)
    writer.writerow(layout.headers)

    written = 0
    async for rows in batches:
        writer.writerows(layout.cells(row) for row in rows)
        written += len(rows)
        await progress(written, max(expected, written))
    return written


async def _layout_and_rows(viewer: Viewer, list_filter: ListFilter) -> tuple[CsvLayout, Any]:
    if isinstance(list_filter, GuestFilter):
        custom_fields = await guest_custom_fields(viewer, list_filter)
        return guest_layout(viewer.time_zone, custom_fields), guest_rows(viewer, list_filter)
    if isinstance(list_filter, CustomerFilter):
        return customer_layout(viewer.time_zone, viewer.currency), customer_rows(
            viewer, list_filter
        )
    assert isinstance(list_filter, UserFilter)
    return user_layout(viewer.time_zone), user_rows(viewer, list_filter)


def file_name_part(name: str) -> str:
    """Join the words of a name with hyphens, keeping letters and digits of every script."""
    words = _NOT_WORD_CHARACTERS.split(unicodedata.normalize("NFC", name))
    return "-".join(word for word in words if word)[:MAX_NAME_PART_LENGTH].strip("-")


async def file_name_for(export: Export, viewer: Viewer) -> str:
    """Name the file after the organization, the list and the local time it was requested.

    People recognise the organization's display name among their downloads. The download route
    adds an ASCII fallback for clients that cannot read a UTF-8 file name.
    """
    organization = await Organization.get(id=export.organization_id)
    local = export.created_at.astimezone(zone_of(viewer.time_zone))
    prefix = LIST_FILE_PREFIX[ExportList(export.list)]
    name = file_name_part(organization.name) or organization.slug
    return f"{name}-{prefix}-{local:%Y-%m-%d-%H%M}.csv"


async def run_export(
    export: Export, storage: ExportStorage, *, progress_every_seconds: float = 1.0
) -> None:
    """Run a claimed export to DONE, or to FAILED with a reason the requester can act on."""
    viewer = await viewer_for_user(export.requested_by_id)
    if viewer is None:
        await fail_export(export, "The user who requested this export is no longer active.")
        return
    list_name = ExportList(export.list)
    try:
        require_export_permission(viewer, list_name)
        list_filter = filter_from_json(list_name, export.filters)
    except DomainError as error:
        await fail_export(export, error.message)
        return
    except (ValueError, KeyError, TypeError) as error:
        await fail_export(export, f"The stored filter is not valid: {error}")
        return

    options = ExportOptions.from_json(export.options)
    key = f"{export.organization_id}/{export.id}-{secrets.token_hex(8)}.csv"
    throttle = _ProgressThrottle(export, progress_every_seconds)
    await start_writing(export, key)
    try:
        with storage.writer(key) as stream:
            rows = await write_csv(viewer, list_filter, options, stream, throttle)
    except OSError as error:
        logger.warning("Writing export %s to storage key %s failed: %s", export.id, key, error)
        await fail_export(export, describe_write_error(error))
        return
    except DomainError as error:
        await fail_export(export, error.message)
        return

    finished = await finish_export(
        export, rows=rows, file_name=await file_name_for(export, viewer), storage_key=key
    )
    if not finished:
        storage.delete(key)


def describe_write_error(error: OSError) -> str:
    """Explain to the requester why the export file could not be written, and what helps.

    The export directory is the server's, so the reason leaves its path out; the server log
    names the file.
    """
    if error.errno in {errno.ENOSPC, errno.EDQUOT}:
        return (
            "No space left on the export volume; ask an administrator to free space there, "
            "then request the export again."
        )
    if error.errno in {errno.EROFS, errno.EACCES, errno.EPERM}:
        return (
            "The export directory is not writable; ask an administrator to check its "
            "permissions and mount, then request the export again."
        )
    if error.errno == errno.ENOENT:
        return (
            "The export directory disappeared while the file was written; ask an administrator "
            "to check the export volume, then request the export again."
        )
    return f"Writing the export file failed: {error.strerror or error}."


class _ProgressThrottle:
    """Record progress at most once per interval, so progress writes stay cheap."""

    def __init__(self, export: Export, interval: float) -> None:
        self.export = export
        self.interval = interval
        self.last = 0.0

    async def __call__(self, written: int, expected: int | None) -> None:
        now = datetime.now(UTC).timestamp()
        if written and now - self.last < self.interval:
            return
        self.last = now
        await record_progress(self.export, written, expected)
