"""`GET /exports/{id}/download`: stream an export file to whoever holds a valid signed URL."""

import logging
import re
import unicodedata
from collections.abc import AsyncIterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from api.exports.signing import SignatureCheck, UrlSigner
from api.exports.storage import ExportStorage
from models.enums import ExportStatus
from models.exports import Export
from schema.errors import is_database_unavailable
from schema.outages import database_outages

logger = logging.getLogger(__name__)

_UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")

# Bytes read from storage per step of a download; memory stays flat however large the file.
CHUNK_SIZE = 64 * 1024


def content_disposition(file_name: str) -> str:
    """Build an attachment header with an ASCII fallback and the exact UTF-8 name (RFC 5987)."""
    ascii_name = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode("ascii")
    ascii_name = _UNSAFE_FILENAME_CHARACTERS.sub("-", ascii_name).strip("-.") or "export.csv"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def _plain(status_code: int, message: str) -> Response:
    return PlainTextResponse(
        message, status_code=status_code, headers={"Cache-Control": "no-store"}
    )


def download_endpoint(signer: UrlSigner, storage: ExportStorage):  # type: ignore[no-untyped-def]
    async def download(request: Request) -> Response:
        raw_id = request.path_params["export_id"]
        query = request.query_params
        check = signer.check(
            raw_id,
            query.get("expires", ""),
            query.get("kid", ""),
            query.get("signature", ""),
        )
        if check is SignatureCheck.INVALID:
            return _plain(403, "Forbidden: the download URL is not valid. Request a new one.")
        if check is SignatureCheck.EXPIRED:
            return _plain(410, "Gone: the download URL has expired. Read the export's url again.")

        try:
            export = await Export.get_or_none(id=raw_id)
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            database_outages.record(f"download of export {raw_id}", error)
            response = _plain(
                503, "Service Unavailable: the database is unavailable; retry in a few seconds."
            )
            response.headers["Retry-After"] = "5"
            return response
        # An export past its retention is expired even before the next sweep deletes its file.
        if (
            export is None
            or export.status is not ExportStatus.DONE
            or export.expires_at <= datetime.now(UTC)
        ):
            return _plain(404, "Not Found: the export does not exist or was deleted.")
        opened = _open(storage, export.storage_key)
        if opened is None:
            logger.warning("Export %s is DONE but its file is missing", export.id)
            return _plain(404, "Not Found: the export does not exist or was deleted.")

        stream, size, closing = opened
        logger.info("Export %s downloaded", export.id)
        return StreamingResponse(
            _chunks(stream, closing),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Length": str(size),
                "Content-Disposition": content_disposition(export.file_name),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return download


def _open(storage: ExportStorage, key: str) -> tuple[BinaryIO, int, ExitStack] | None:
    """Open the file before the response starts, so a missing file is still a clean 404."""
    if not key:
        return None
    closing = ExitStack()
    try:
        stream = closing.enter_context(storage.reader(key))
        size = storage.size(key)
    except FileNotFoundError:
        closing.close()
        return None
    return stream, size, closing


async def _chunks(stream: BinaryIO, closing: ExitStack) -> AsyncIterator[bytes]:
    """Read the file in chunks off the event loop, and close it however the download ends."""
    with closing:
        while chunk := await run_in_threadpool(stream.read, CHUNK_SIZE):
            yield chunk
