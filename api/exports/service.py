"""The export service the schema reaches through the request context."""

from dataclasses import dataclass
from datetime import timedelta

from api.exports.signing import UrlSigner
from api.exports.worker import ExportWorker, wait_for_export


@dataclass(slots=True)
class ExportService:
    """Signs download URLs against the request's base URL and hands jobs to the worker."""

    signer: UrlSigner
    worker: ExportWorker | None
    base_url: str
    retention: timedelta
    wait: timedelta
    poll_interval: timedelta = timedelta(seconds=0.5)

    def download_url(self, export_id: int) -> str:
        return self.base_url.rstrip("/") + self.signer.sign(export_id)

    def submitted(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def wait_for(self, export_id: int) -> None:
        await wait_for_export(export_id, self.wait)
