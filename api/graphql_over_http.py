"""GraphQL over HTTP: the `application/graphql-response+json` media type and its status codes.

Strawberry 0.341's ASGI view responds to every request with `application/json`. The GraphQL over
HTTP specification (https://graphql.github.io/graphql-over-http/draft/) adds
`application/graphql-response+json`, with which a request error (a document that does not parse
or validate, or variables that do not coerce) gets status 400 and no `data` entry, so that
clients and proxies can tell it from an operation that ran. A client gets that media type when
its Accept header prefers it. Clients that ask for `application/json`, or send no Accept header,
get status 200 for every result, as Strawberry returns them.

Requests rejected before they run keep Strawberry's status code, mostly 400, and get a GraphQL
response with one error in the negotiated media type, where Strawberry returns plain text.
This view also rejects an `operationName` that is not a string and a subscription, which is
served over WebSocket only, with 400, and a mutation sent with GET with 405 and `Allow: POST`.

When the database is unavailable, a request that fails before it runs (signing in reads the
database) gets 503 in either media type. An operation that ran and failed only with
SERVICE_UNAVAILABLE errors, without data, gets 503 without `data` in
`application/graphql-response+json` and 200 in `application/json`.
"""

import json
from collections.abc import Mapping
from typing import cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from models.errors import ErrorCode
from schema.context import Context
from schema.errors import DATABASE_UNAVAILABLE_MESSAGE, GraphQLErrorCode, is_database_unavailable
from schema.outages import database_outages

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
GRAPHQL_RESPONSE_CONTENT_TYPE = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
JSON_CONTENT_TYPE = f"{JSON}; charset=utf-8"
# Seconds a client should wait before retrying while the database is unavailable; a restart of
# PostgreSQL usually takes a few seconds.
RETRY_AFTER_SECONDS = 5


class MethodNotAllowed(HTTPException):
    def __init__(self, reason: str, *, allow: str) -> None:
        super().__init__(405, reason)
        self.allow = allow


def negotiate_media_type(accept: str | None) -> str:
    """Return the response media type for an Accept header.

    `application/graphql-response+json` when the header gives it a higher quality than
    `application/json`, or the same non-zero quality and names it; `application/json` otherwise,
    also when the header accepts neither. So `*/*` and a missing header get `application/json`.
    """
    ranges = _parse_accept(accept or "")
    graphql_quality, graphql_named = _quality(GRAPHQL_RESPONSE_JSON, ranges)
    json_quality, _ = _quality(JSON, ranges)
    if graphql_quality > json_quality:
        return GRAPHQL_RESPONSE_JSON
    if graphql_quality == json_quality > 0 and graphql_named:
        return GRAPHQL_RESPONSE_JSON
    return JSON


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    """Return the media ranges of an Accept header with their qualities, without malformed ones."""
    ranges = []
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        if media_range.count("/") != 1:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = -1.0
        if quality >= 0:
            ranges.append((media_range.lower(), quality))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> tuple[float, bool]:
    """Return the quality that the most specific matching range gives `media_type`.

    The flag tells whether that range names the media type rather than matching a wildcard.
    """
    type_ = media_type.split("/")[0]
    candidates = {media_type: 2, f"{type_}/*": 1, "*/*": 0}
    best: tuple[int, float] | None = None
    for media_range, quality in ranges:
        specificity = candidates.get(media_range)
        if specificity is not None and (best is None or specificity > best[0]):
            best = (specificity, quality)
    if best is None:
        return 0.0, False
    return best[1], best[0] == 2


def encode_json(data: object) -> str:
    """Encode a response or a WebSocket message as compact JSON text, non-ASCII left as UTF-8."""
    # orjson encodes a page of 100 bookings several times faster than the standard library's
    # encoder, which Strawberry uses. It rejects integers beyond 64 bits, which a JSON scalar
    # (a custom-field answer) may hold, so those rare responses take the standard encoder.
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def is_request_error(response: GraphQLHTTPResponse) -> bool:
    """Tell whether the operation failed before it ran: no data, and no error is a field error.

    Field errors carry a `path`; errors of parsing, validation and variable coercion do not.
    """
    if response.get("data") is not None:
        return False
    errors = response.get("errors") or []
    return bool(errors) and not any(
        isinstance(error, Mapping) and "path" in error for error in errors
    )


def is_unavailable_error(response: GraphQLHTTPResponse) -> bool:
    """Tell whether an operation failed as a whole because the database was unavailable."""
    if response.get("data") is not None:
        return False
    errors = response.get("errors") or []
    return bool(errors) and all(
        isinstance(error, Mapping)
        and (error.get("extensions") or {}).get("code")
        == GraphQLErrorCode.SERVICE_UNAVAILABLE.value
        for error in errors
    )


class GraphQLOverHTTP(GraphQL[Context, None]):
    """Strawberry's ASGI view, responding with the media type that the Accept header prefers."""

    # Maximum request body size. The token limit keeps valid documents far smaller, so this
    # only stops a huge body from being read into memory and parsed at all.
    max_body_bytes = 1024 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return

        # As Strawberry's view does, except that rejected requests get a GraphQL response in the
        # media type the client accepts, where Strawberry returns plain text.
        request = Request(scope, receive=receive)
        try:
            await self.read_limited_body(request)
            response = await self.run(request)
        except HTTPException as error:
            media_type = negotiate_media_type(request.headers.get("accept"))
            response = self.error_response(error, media_type)
        except Exception as error:
            # Building the context signs the viewer in, which reads the database before any
            # resolver runs, so an outage surfaces here rather than as a field error.
            if not is_database_unavailable(error):
                raise
            database_outages.record("signing in a GraphQL request", error)
            response = self.unavailable_response(
                negotiate_media_type(request.headers.get("accept"))
            )
        await response(scope, receive, send)

    def encode_json(self, data: object) -> str:
        # Text, not bytes: Strawberry sends bytes over WebSocket as binary frames, which
        # graphql-transport-ws clients reject.
        return encode_json(data)

    async def read_limited_body(self, request: Request) -> None:
        """Read the body, stopping with 413 as soon as it passes `max_body_bytes`."""
        declared = request.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise HTTPException(413, self._too_large())
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise HTTPException(413, self._too_large())
            chunks.append(chunk)
        # Starlette serves later reads of the body from this attribute.
        request._body = b"".join(chunks)

    def _too_large(self) -> str:
        return (
            f"The request body is larger than {self.max_body_bytes} bytes; send a smaller "
            "document and variables."
        )

    def error_response(self, error: HTTPException, media_type: str) -> Response:
        """Build the response to a request that Strawberry rejected before running it."""
        code = ErrorCode.NOT_FOUND if error.status_code == 404 else ErrorCode.BAD_USER_INPUT
        body = {"errors": [{"message": error.reason, "extensions": {"code": code.value}}]}
        content_type = (
            GRAPHQL_RESPONSE_CONTENT_TYPE
            if media_type == GRAPHQL_RESPONSE_JSON
            else JSON_CONTENT_TYPE
        )
        headers = {"Content-Type": content_type}
        if isinstance(error, MethodNotAllowed):
            headers["Allow"] = error.allow
        return Response(self.encode_json(body), status_code=error.status_code, headers=headers)

    def unavailable_response(self, media_type: str) -> Response:
        """Build the response to a request that could not run because the database is down."""
        body = {
            "errors": [
                {
                    "message": DATABASE_UNAVAILABLE_MESSAGE,
                    "extensions": {"code": GraphQLErrorCode.SERVICE_UNAVAILABLE.value},
                }
            ]
        }
        content_type = (
            GRAPHQL_RESPONSE_CONTENT_TYPE
            if media_type == GRAPHQL_RESPONSE_JSON
            else JSON_CONTENT_TYPE
        )
        return Response(
            self.encode_json(body),
            status_code=503,
            headers={"Content-Type": content_type, "Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # Strawberry passes the sub-response to `create_response`, which has no access to the
        # request, so the negotiated media type travels on it.
        sub_response.media_type = negotiate_media_type(request.headers.get("accept"))
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        if sub_response.media_type != GRAPHQL_RESPONSE_JSON:
            response = super().create_response(response_data, sub_response)
            # GraphQL over HTTP recommends naming the encoding in Content-Type, which Strawberry
            # leaves out.
            response.headers["Content-Type"] = JSON_CONTENT_TYPE
            return response

        status_code = 200
        if isinstance(response_data, dict) and is_request_error(response_data):
            response_data = _without_data(response_data)
            status_code = 400
        elif isinstance(response_data, dict) and is_unavailable_error(response_data):
            # No data came of the operation, so the response has no `data` entry, and its status
            # lets proxies and clients retry, as the media type allows.
            response_data = _without_data(response_data)
            status_code = 503
            sub_response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response = super().create_response(response_data, sub_response)
        if not sub_response.status_code:
            response.status_code = status_code
        response.headers["Content-Type"] = GRAPHQL_RESPONSE_CONTENT_TYPE
        return response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        try:
            parsed = await super().parse_http_body(request)
        except RecursionError as error:
            raise HTTPException(400, "The JSON body is nested too deeply.") from error
        except (AttributeError, TypeError) as error:
            # Strawberry assumes the JSON body is an object and fails on other values.
            raise HTTPException(
                400, "The JSON body must be an object with a `query` string."
            ) from error
        for request_data in parsed if isinstance(parsed, list) else [parsed]:
            # Strawberry checks the types of `query`, `variables` and `extensions`, but passes
            # any JSON value as the operation name on to execution.
            if not isinstance(request_data.operation_name, str | None):
                raise HTTPException(
                    400,
                    "The GraphQL operation's `operationName` must be a string or null, "
                    "if provided.",
                )
            _reject_lone_surrogates(request_data)
            # GraphQL over HTTP treats an empty `operationName` as none, because that is how a GET
            # request's query string expresses "no operation name".
            if request_data.operation_name == "":
                request_data.operation_name = None
        return parsed

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        # Strawberry 0.341's method with two changes. First, subscriptions are rejected: Strawberry
        # allows them over GET and POST for its multipart and SSE transports, but those run
        # before this method, so a subscription here would run like a query. Second, a mutation
        # sent with GET gets 405 instead of 400, as GraphQL over HTTP requires, because GET must
        # be safe.
        method = request_adapter.method
        allowed_operation_types = OperationType.from_http(method) - {OperationType.SUBSCRIPTION}
        if not self.allow_queries_via_get and method == "GET":
            allowed_operation_types -= {OperationType.QUERY}

        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed_operation_types,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as error:
            raise HTTPException(400, error.as_http_error_reason()) from error
        except InvalidOperationTypeError as error:
            raise invalid_operation_type(error, method) from error
        except MissingQueryError as error:
            raise HTTPException(400, "No GraphQL query found in the request") from error


def _without_data(response_data: GraphQLHTTPResponse) -> GraphQLHTTPResponse:
    return cast(
        GraphQLHTTPResponse, {key: value for key, value in response_data.items() if key != "data"}
    )


def _reject_lone_surrogates(request_data: GraphQLRequestData) -> None:
    """Reject text that is not valid Unicode, which JSON escapes such as \\ud800 can carry.

    Such strings cannot be encoded as UTF-8, so the database driver would fail on them deep in
    a resolver; rejecting them here gives the client a clear error instead.
    """
    try:
        orjson.dumps([request_data.query, request_data.variables, request_data.operation_name])
    except orjson.JSONEncodeError as error:
        raise HTTPException(
            400,
            "The request holds a string that is not valid Unicode (a lone surrogate such as "
            "\\ud800); send UTF-8 text.",
        ) from error


def invalid_operation_type(error: InvalidOperationTypeError, method: str) -> HTTPException:
    """Return the HTTP error for an operation that the request's method may not run."""
    if error.operation_type is OperationType.SUBSCRIPTION:
        return HTTPException(
            400,
            "Subscriptions are served over WebSocket only: open a WebSocket to this URL with "
            "the graphql-transport-ws protocol.",
        )
    # "mutations are not allowed when using GET", for example.
    reason = error.as_http_error_reason(method)
    if method == "GET":
        return MethodNotAllowed(
            f"{reason[0].upper()}{reason[1:]}; send them with POST.", allow="POST"
        )
    return HTTPException(400, reason)
