"""The GraphQL endpoint: Strawberry's ASGI view with tourdesk's per-request context."""

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.auth import authenticate
from schema.context import Context
from schema.dataloaders import build_loaders


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, *args: Any, token_ttl: timedelta, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token_ttl = token_ttl

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        viewer, token = await authenticate(request)
        return Context(
            viewer=viewer,
            loaders=build_loaders(viewer),
            token=token,
            token_ttl=self.token_ttl,
        )
