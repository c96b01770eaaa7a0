"""The GraphQL endpoint: Strawberry's ASGI view with tourdesk's per-request context."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.auth import authenticate
from api.exports.service import ExportService
from api.exports.signing import UrlSigner
from api.exports.worker import ExportWorker
from schema.context import Context
from schema.dataloaders import build_loaders


@dataclass(slots=True)
class ExportSettings:
    signer: UrlSigner
    retention: timedelta
    wait: timedelta
    worker: ExportWorker | None = None


class GraphQLApp(GraphQL[Context, None]):
    def __init__(
        self, *args: Any, token_ttl: timedelta, exports: ExportSettings, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.token_ttl = token_ttl
        self.exports = exports

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        viewer, token = await authenticate(request)
        return Context(
            viewer=viewer,
            loaders=build_loaders(viewer),
            token=token,
            token_ttl=self.token_ttl,
            exports=ExportService(
                signer=self.exports.signer,
                worker=self.exports.worker,
                base_url=str(request.base_url),
                retention=self.exports.retention,
                wait=self.exports.wait,
            ),
        )
