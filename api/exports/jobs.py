"""Running one export: rows from the shared list queries into a CSV file in storage."""

import asyncio
import codecs
import errno
import logging
import re
import secrets
import socket
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO

from api.exports.csv_format import (
    DELIMITERS,
    LIST_FILE_PREFIX,
    CrlfLineEnds,
    CsvLayout,
    csv_writer,
    customer_layout,
    guest_layout,
    user_layout,
)
from api.exports.csv_sql import export_statement
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
from models.queries.export_rows import (
    SourceQuery,
    customer_source,
    guest_custom_fields,
    guest_source,
    user_source,
)
from models.queries.guests import GuestFilter, count_guests
from models.queries.streaming import copy_csv_from_postgres, dialect_of, sqlite_row_batches
from models.queries.users import UserFilter, users_query

logger = logging.getLogger(__name__)

Progress = Callable[[int, int | None], Awaitable[None]]
RowsWritten = Callable[[int], Awaitable[None]]

# Runs of anything but letters and digits, such as spaces, slashes, quotes and underscores.
_NOT_WORD_CHARACTERS = re.compile(r"[\W_]+")
MAX_NAME_PART_LENGTH = 100

# How often a PostgreSQL export reports the rows written so far while COPY runs.
PROGRESS_INTERVAL_SECONDS = 0.25

# Rows per read from SQLite: large enough that the thread hand-off costs nothing measurable.
BATCH_SIZE = 5000


async def count_export_rows(viewer: Viewer, list_filter: ListFilter) -> int:
    if isinstance(list_filter, GuestFilter):
        return await count_guests(viewer, list_filter)
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
    layout, source = await export_source(viewer, list_filter)
    csv_writer(stream, options.delimiter).writerow(layout.headers)

    async def report(written: int) -> None:
        await progress(written, max(expected, written))

    return await write_rows(layout, source, options, stream, report=report)


async def export_source(viewer: Viewer, list_filter: ListFilter) -> tuple[CsvLayout, SourceQuery]:
    """Return the columns of the list's file and the statement that selects its rows."""
    zone, organization_id = viewer.time_zone, viewer.organization_id
    if isinstance(list_filter, GuestFilter):
        custom_fields = await guest_custom_fields(viewer, list_filter)
        layout = guest_layout(zone, organization_id, custom_fields)
        return layout, guest_source(viewer, list_filter)
    if isinstance(list_filter, CustomerFilter):
        layout = customer_layout(zone, organization_id, viewer.currency)
        return layout, customer_source(viewer, list_filter)
    assert isinstance(list_filter, UserFilter)
    return user_layout(zone, organization_id), user_source(viewer, list_filter)


async def write_rows(
    layout: CsvLayout,
    source: SourceQuery,
    options: ExportOptions,
    stream: IO[str],
    *,
    report: RowsWritten,
) -> int:
    """Write the cells of every row below the header and return how many rows there were.

    `report` hears the number of rows written so far after each chunk of the file.
    """
    if dialect_of(source.client) == "postgres":
        sql = export_statement(layout, source, "postgres")
        return await _copy_postgres_rows(sql, source, layout, options, stream, report)
    sql = export_statement(layout, source, "sqlite")
    return await _write_sqlite_rows(sql, source, options, stream, report)


class _CopySink:
    """Receive COPY's chunks into the file, never raising into asyncpg.

    asyncpg 0.32 responds to an error raised by the output callback with a cancel request, and if
    the server has already sent the whole result that request is never answered and the
    connection hangs. So a failed write is kept for the caller, and the rest of the result,
    like everything after `abandon()`, is read and dropped.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.line_ends = CrlfLineEnds()
        # COPY splits its output at arbitrary bytes, so a character may straddle two chunks.
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.error: Exception | None = None
        self.is_abandoned = False

    async def __call__(self, chunk: bytes) -> None:
        if self.error is not None or self.is_abandoned:
            return
        try:
            self.stream.write(self.decoder.decode(self.line_ends.convert(chunk)))
        except Exception as error:  # kept for the caller, see the class docstring
            self.error = error

    def finish(self) -> int:
        if self.error is not None:
            raise self.error
        self.stream.write(self.decoder.decode(b"", final=True))
        return self.line_ends.rows

    def abandon(self) -> None:
        self.is_abandoned = True


async def _copy_postgres_rows(
    sql: str,
    source: SourceQuery,
    layout: CsvLayout,
    options: ExportOptions,
    stream: IO[str],
    report: RowsWritten,
) -> int:
    sink = _CopySink(stream)
    copy = asyncio.ensure_future(
        copy_csv_from_postgres(
            source.client,
            sql,
            source.parameters,
            time_zone=layout.time_zone,
            delimiter=DELIMITERS[options.delimiter],
            output=sink,
        )
    )
    try:
        while not copy.done():
            await asyncio.wait({copy}, timeout=PROGRESS_INTERVAL_SECONDS)
            await report(sink.line_ends.rows)
        copy.result()
    finally:
        if not copy.done():
            # Cancelling the COPY could hang its connection (see _CopySink); it runs to its
            # end in the background instead, writing nothing more.
            sink.abandon()
            copy.add_done_callback(_log_abandoned_copy)
    return sink.finish()


def _log_abandoned_copy(copy: "asyncio.Future[None]") -> None:
    if not copy.cancelled() and copy.exception() is not None:
        logger.warning("An abandoned export COPY ended with an error: %s", copy.exception())


async def _write_sqlite_rows(
    sql: str, source: SourceQuery, options: ExportOptions, stream: IO[str], report: RowsWritten
) -> int:
    writer = csv_writer(stream, options.delimiter)
    written = 0
    async for rows in sqlite_row_batches(source.client, sql, source.parameters, BATCH_SIZE):
        writer.writerows(rows)
        written += len(rows)
        await report(written)
    return written


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
        if not is_file_error(error):
            # The database connection failed; the worker decides what happens to the job.
            raise
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


def is_file_error(error: OSError) -> bool:
    """Tell a failed write of the export file from a failed connection to the database.

    Both are OSErrors. A connection that is refused, reset or timed out is a ConnectionError or a
    TimeoutError, and asyncpg reports several failed connection attempts as one OSError without
    an error number.
    """
    if isinstance(error, ConnectionError | TimeoutError | socket.gaierror):
        return False
    return error.errno is not None


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
