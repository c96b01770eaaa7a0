"""ASGI middleware that gives every request an id for its log lines and its response."""

import random
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import logs

REQUEST_ID_HEADER = "X-Request-ID"
# An id from the client or a proxy is kept only when it cannot break a log line or a header.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_of(scope: Scope) -> str:
    """Return the request's `X-Request-ID` if it looks safe, else a new random id."""
    received = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    if _SAFE_REQUEST_ID.fullmatch(received):
        return received
    # Log correlation needs uniqueness, not secrecy: `random` saves the system call for fresh
    # entropy that uuid4 makes on every request.
    return f"{random.getrandbits(128):032x}"


class RequestIdMiddleware:
    """Set the request id and reset the operation name for the request's log lines.

    The id is echoed in the `X-Request-ID` response header, so a client can quote it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return

        request_id = request_id_of(scope)

        async def send_with_request_id(message: Message) -> None:
            if message["type"] in {"http.response.start", "websocket.accept"}:
                message.setdefault("headers", [])
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        request_token = logs.request_id.set(request_id)
        operation_token = logs.operation_name.set(None)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            logs.operation_name.reset(operation_token)
            logs.request_id.reset(request_token)
