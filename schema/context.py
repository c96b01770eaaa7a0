"""The per-request context every resolver receives as `info.context`."""

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

import strawberry

from models.access import Viewer
from models.errors import DomainError, ErrorCode

if TYPE_CHECKING:
    from schema.dataloaders import Loaders


class ExportService(Protocol):
    """The export operations that the schema calls on the service around it."""

    retention: timedelta
    wait: timedelta
    # How often a subscription reads an export again to push its changes.
    poll_interval: timedelta

    def download_url(self, export_id: int) -> str:
        """Sign a short-lived download URL for a finished export."""
        ...

    def submitted(self) -> None:
        """Tell the worker that a job was queued."""
        ...

    async def wait_for(self, export_id: int) -> None:
        """Wait up to `wait` for an export to finish."""
        ...


class NotAuthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


@dataclass(slots=True)
class Context:
    """Built anew for every request, so loaders never share cached rows between viewers."""

    viewer: Viewer | None
    loaders: "Loaders"
    # The bearer token of the request, kept so that `logout` can revoke it.
    token: str | None = None
    token_ttl: timedelta = timedelta(days=7)
    exports: ExportService | None = None
    # The payload of a WebSocket's `connection_init` message; Strawberry sets it.
    connection_params: dict[str, object] | None = None

    def require_exports(self) -> ExportService:
        if self.exports is None:
            raise RuntimeError("This server was started without an export service")
        return self.exports

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise NotAuthenticated(
                "Sign in first: call the `login` mutation and send its token in the "
                "Authorization header as `Bearer <token>`."
            )
        return self.viewer


Info = strawberry.Info[Context, None]


def viewer_of(info: Info) -> Viewer:
    return info.context.require_viewer()
