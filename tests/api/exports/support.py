"""Running exports in tests: the export service, the mutation and reading the file back."""

import csv
import io
from datetime import timedelta
from typing import Any

from api.exports.service import ExportService
from api.exports.signing import UrlSigner
from api.exports.storage import ExportStorage
from api.exports.worker import ExportWorker
from models.enums import ExportStatus
from models.exports import Export
from models.users import User
from schema.relay import from_global_id
from tests.helpers import Result, execute

SECRET_KEY = "test-secret-key-0123456789abcdefghijklmnop"
BASE_URL = "http://tourdesk.test/"

CREATE_EXPORT = """
mutation CreateExport($input: CreateExportInput!) {
  createExport(input: $input) {
    export {
      id list status url fileName error rowCount filter options
      progress { rowsWritten rowsExpected }
    }
    errors { field code message }
  }
}
"""

DELIMITERS = {"COMMA": ",", "SEMICOLON": ";", "TAB": "\t"}


def export_service(
    *, worker: ExportWorker | None = None, wait: timedelta = timedelta(0)
) -> ExportService:
    return ExportService(
        signer=UrlSigner(current_key=SECRET_KEY),
        worker=worker,
        base_url=BASE_URL,
        retention=timedelta(days=7),
        wait=wait,
    )


async def create_export(
    user: User | None,
    list_name: str,
    export_filter: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    *,
    service: ExportService | None = None,
) -> Result:
    export_input: dict[str, Any] = {"list": list_name}
    if export_filter is not None:
        export_input["filter"] = export_filter
    if options is not None:
        export_input["options"] = options
    return await execute(
        user,
        CREATE_EXPORT,
        {"input": export_input},
        exports=service or export_service(),
    )


def created_export(result: Result) -> dict[str, Any]:
    """Return the export of a successful `createExport` result."""
    assert result.errors == [], result.errors
    assert result.data is not None
    payload = result.data["createExport"]
    assert payload["errors"] == [], payload["errors"]
    export: dict[str, Any] = payload["export"]
    return export


def export_pk(export: dict[str, Any]) -> int:
    return from_global_id(export["id"])[1]


async def run_queued_jobs(worker: ExportWorker) -> int:
    """Run queued exports until none is left and return how many ran."""
    ran = 0
    while await worker.run_next():
        ran += 1
    return ran


def read_file(storage: ExportStorage, export: Export) -> bytes:
    with storage.reader(export.storage_key) as stream:
        return stream.read()


def parse_csv(content: bytes, delimiter: str = ",") -> list[list[str]]:
    text = content.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


async def export_rows(
    user: User,
    list_name: str,
    storage: ExportStorage,
    export_filter: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> list[dict[str, str]]:
    """Export a list through the mutation and a worker, and return the file's rows by header."""
    export = created_export(await create_export(user, list_name, export_filter, options))
    await run_queued_jobs(ExportWorker(storage))

    row = await Export.get(id=export_pk(export))
    assert row.status is ExportStatus.DONE, row.error
    delimiter = DELIMITERS[(options or {}).get("delimiter", "COMMA")]
    header, *rows = parse_csv(read_file(storage, row), delimiter)
    return [dict(zip(header, cells, strict=True)) for cells in rows]
