"""`GET /exports/{id}/download`: stream an export file to whoever holds a valid signed URL."""

import logging
import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from api.exports.signing import SignatureCheck, UrlSigner
from api.exports.storage import ExportStorage
from models.enums import ExportStatus
from models.exports import Export

logger = logging.getLogger(__name__)

_UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


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

        export = await Export.get_or_none(id=raw_id)
        # An export past its retention is expired even before the next sweep deletes its file.
        if (
            export is None
            or export.status is not ExportStatus.DONE
            or export.expires_at <= datetime.now(UTC)
        ):
            return _plain(404, "Not Found: the export does not exist or was deleted.")
        if not storage.exists(export.storage_key):
            logger.warning("Export %s is DONE but its file is missing", export.id)
            return _plain(404, "Not Found: the export does not exist or was deleted.")

        logger.info("Export %s downloaded", export.id)
        return FileResponse(
            storage.path(export.storage_key),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": content_disposition(export.file_name),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return download
