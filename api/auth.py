"""Bearer-token authentication: turns the Authorization header into the request's viewer."""

from collections.abc import Mapping

from starlette.requests import HTTPConnection

from models.access import Viewer
from models.commands.auth import viewer_for_token


def bearer_token(connection: HTTPConnection) -> str | None:
    """Return the token of an `Authorization: Bearer <token>` header, if there is one."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authenticate(connection: HTTPConnection) -> tuple[Viewer | None, str | None]:
    """Return the viewer and token of a request; an unknown or expired token signs in nobody."""
    token = bearer_token(connection)
    if token is None:
        return None, None
    return await viewer_for_token(token), token


def bearer_token_in_params(params: Mapping[str, object] | None) -> str | None:
    """Return the token of an `Authorization` entry in a WebSocket's `connection_init` payload.

    Browsers cannot set headers on a WebSocket handshake, so clients send the header there.
    """
    for key, value in (params or {}).items():
        if key.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None
