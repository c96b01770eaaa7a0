"""Prometheus metrics at `/metrics`: GraphQL operations and errors, export jobs and their queue.

The metrics live in prometheus_client's default registry, beside its process and Python
collectors, so each server process reports its own numbers.
"""

import logging
import re
import time
from collections.abc import Iterator

from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from api.database import DATABASE_ERRORS
from models.enums import ExportStatus
from models.exports import Export
from schema.errors import error_code

logger = logging.getLogger(__name__)

OPERATION_DURATION = Histogram(
    "tourdesk_graphql_operation_duration_seconds",
    "Time to answer a GraphQL query or mutation, by operation name and type.",
    ["operation", "type"],
)
ERRORS = Counter(
    "tourdesk_graphql_errors",
    "GraphQL errors returned to clients, by extensions.code.",
    ["code"],
)
EXPORT_JOBS = Counter(
    "tourdesk_export_jobs",
    "Export jobs this process ran to an end, by final status (DONE or FAILED).",
    ["status"],
)
EXPORT_JOB_DURATION = Histogram(
    "tourdesk_export_job_duration_seconds",
    "Time from claiming an export job to its end, by final status.",
    ["status"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
EXPORT_QUEUE_DEPTH = Gauge(
    "tourdesk_export_queue_depth",
    "Export jobs waiting for a worker (QUEUED), counted in the database at each scrape.",
)

# Clients choose operation names, so the label takes well-formed names only, and at most this
# many distinct ones; later names count as "other". That bounds the memory a client can fill.
MAX_OPERATION_NAMES = 200
_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
_operation_names: set[str] = set()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not _OPERATION_NAME.fullmatch(name):
        return "invalid"
    if name in _operation_names:
        return name
    if len(_operation_names) >= MAX_OPERATION_NAMES:
        return "other"
    _operation_names.add(name)
    return name


def _operation_type(context: ExecutionContext) -> str:
    try:
        return context.operation_type.value
    except RuntimeError:
        # The document did not parse, or has no operation of the requested name.
        return "unknown"


def _errors_of(context: ExecutionContext) -> list[GraphQLError]:
    if context.result is not None and context.result.errors:
        return list(context.result.errors)
    return list(context.pre_execution_errors or [])


def _code_of(error: GraphQLError) -> str:
    # Errors raised out of an extension, such as syntax errors from the parser cache, reach
    # this extension before the schema has tagged them.
    return str((error.extensions or {}).get("code") or error_code(error))


class MetricsExtension(SchemaExtension):
    """Time each query and mutation and count its errors by code.

    Subscriptions are left out of the timings: they last as long as the client listens.
    """

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except Exception as raised:
            error = raised if isinstance(raised, GraphQLError) else GraphQLError(str(raised))
            self._record(time.perf_counter() - started, [error])
            raise
        self._record(time.perf_counter() - started, _errors_of(self.execution_context))

    def _record(self, seconds: float, errors: list[GraphQLError]) -> None:
        context = self.execution_context
        operation_type = _operation_type(context)
        if operation_type != "subscription":
            OPERATION_DURATION.labels(
                operation=operation_label(context.operation_name), type=operation_type
            ).observe(seconds)
        for error in errors:
            ERRORS.labels(code=_code_of(error)).inc()


def record_export_job(status: ExportStatus, seconds: float) -> None:
    EXPORT_JOBS.labels(status=status.value).inc()
    EXPORT_JOB_DURATION.labels(status=status.value).observe(seconds)


async def metrics_endpoint(request: Request) -> Response:
    try:
        EXPORT_QUEUE_DEPTH.set(await Export.filter(status=ExportStatus.QUEUED).count())
    except DATABASE_ERRORS as error:
        # The other metrics are still worth a scrape; the gauge keeps its last value.
        logger.warning("Counting queued exports for /metrics failed: %s", error)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
