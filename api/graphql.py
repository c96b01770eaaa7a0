"""The GraphQL endpoint: Strawberry's ASGI view with tourdesk's per-request context."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from graphql import GraphQLError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UnsetType

from api.auth import authenticate, bearer_token, bearer_token_in_params
from api.exports.service import ExportService
from api.exports.signing import UrlSigner
from api.exports.worker import ExportWorker
from api.graphiql import render_graphiql_page
from api.graphql_over_http import GraphQLOverHTTP
from models.commands.auth import viewer_for_token
from models.errors import ErrorCode
from schema.context import Context
from schema.dataloaders import build_loaders
from schema.errors import DATABASE_UNAVAILABLE_MESSAGE, is_database_unavailable
from schema.outages import database_outages

# The WebSocket close code "Try Again Later" (IANA WebSocket close code registry): the counterpart
# of HTTP's 503. The graphql-ws JavaScript client reconnects after it, where it gives up after
# 1011 (Internal Error) or 4500.
TRY_AGAIN_LATER = 1013


@dataclass(slots=True)
class ExportSettings:
    signer: UrlSigner
    retention: timedelta
    wait: timedelta
    worker: ExportWorker | None = None


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """The graphql-transport-ws protocol, with an error that names the operation limit.

    Signing in reads the database when `connection_init` arrives. While the database is
    unavailable, the connection closes with 1013 (Try Again Later) and the message HTTP sends.
    """

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            database_outages.record("signing in a WebSocket connection", error)
            await self.websocket.close(code=TRY_AGAIN_LATER, reason=DATABASE_UNAVAILABLE_MESSAGE)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            error = GraphQLError(
                f"This connection already runs {limit} operations, the maximum per "
                "connection; complete one of them or open another connection.",
                extensions={"code": ErrorCode.BAD_USER_INPUT.value},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)


class GraphQLApp(GraphQLOverHTTP):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self, *args: Any, token_ttl: timedelta, exports: ExportSettings, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.token_ttl = token_ttl
        self.exports = exports

    async def render_graphql_ide(self, request: Request) -> Response:
        # Strawberry's own page loads GraphiQL from a CDN; this one needs no network.
        return render_graphiql_page()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            # Signed in at `connection_init` (see on_ws_connect), where the protocol can report
            # an unavailable database. No operation runs before that message.
            viewer, token = None, bearer_token(request)
        else:
            viewer, token = await authenticate(request)
        return Context(
            viewer=viewer,
            loaders=build_loaders(viewer),
            token=token,
            token_ttl=self.token_ttl,
            exports=ExportService(
                signer=self.exports.signer,
                worker=self.exports.worker,
                base_url=http_base_url(request),
                retention=self.exports.retention,
                wait=self.exports.wait,
            ),
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Sign in with the `Authorization` entry of the `connection_init` payload, if any.

        It takes the place of a token in the handshake's header, and an unknown token signs in
        nobody.
        """
        token = bearer_token_in_params(context.connection_params) or context.token
        if token is not None:
            viewer = await viewer_for_token(token)
            context.viewer = viewer
            context.token = token
            context.loaders = build_loaders(viewer)
        return await super().on_ws_connect(context)


def http_base_url(connection: HTTPConnection) -> str:
    """Return the base URL for links in responses; over a WebSocket, its http(s) counterpart."""
    base_url = connection.base_url
    if base_url.scheme in {"ws", "wss"}:
        base_url = base_url.replace(scheme="https" if base_url.scheme == "wss" else "http")
    return str(base_url)
