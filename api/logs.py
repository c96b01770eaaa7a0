"""JSON log lines that carry the request id and the GraphQL operation name of their request.

What never reaches the logs: GraphQL variables and query strings, because they can hold guests'
names, passwords and download URL signatures. Tokens travel in headers, which nothing logs.
"""

import copy
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson
from strawberry.extensions import SchemaExtension

# Set per request by RequestIdMiddleware and OperationNameExtension; None outside requests,
# such as in the export worker's own lines.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
operation_name: ContextVar[str | None] = ContextVar("operation_name", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and operation.

    Paths logged by uvicorn lose their query string, as in `/exports/1/download?signature=...`.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message_without_query_strings(record),
            "request_id": request_id.get(),
            "operation": operation_name.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry).decode()


def _message_without_query_strings(record: logging.LogRecord) -> str:
    # Uvicorn passes request paths as arguments of its access and WebSocket lines.
    args = record.args
    if record.name.startswith("uvicorn") and isinstance(args, tuple):
        record = copy.copy(record)
        record.args = tuple(path_without_query(argument) for argument in args)
    return record.getMessage()


def path_without_query(value: object) -> object:
    """Drop the query string of a request path; leave every other value as it is."""
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.split("?", 1)[0]
    return value


class OperationNameExtension(SchemaExtension):
    """Put the operation's name into the log context once the document is parsed."""

    def on_execute(self) -> Iterator[None]:
        operation_name.set(self.execution_context.operation_name)
        yield
