"""A GraphQL-over-HTTP client that records the latency and errors of every request."""

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

REQUEST_TIMEOUT_SECONDS = 60


@dataclass
class OperationStats:
    latencies: list[float] = field(default_factory=list)
    # Error kind, such as "HTTP 503" or "GraphQL FORBIDDEN", by whether it was expected.
    expected_errors: Counter[str] = field(default_factory=Counter)
    unexpected_errors: Counter[str] = field(default_factory=Counter)


class Recorder:
    """Latencies and errors per operation name, and the outcome of createBooking requests."""

    def __init__(self) -> None:
        self.operations: dict[str, OperationStats] = {}
        self.bookings_created = 0
        # createBooking requests whose response was lost, so the booking may or may not exist.
        self.bookings_unknown = 0

    def stats(self, operation: str) -> OperationStats:
        return self.operations.setdefault(operation, OperationStats())

    def latency(self, operation: str, seconds: float) -> None:
        self.stats(operation).latencies.append(seconds)

    def error(self, operation: str, kind: str, *, expected: bool) -> None:
        stats = self.stats(operation)
        counter = stats.expected_errors if expected else stats.unexpected_errors
        counter[kind] += 1


class RequestFailed(Exception):
    """The response was not a GraphQL result with data; the error is already recorded."""


@dataclass
class Endpoint:
    """One server address with its own connection pool."""

    base_url: str
    http: httpx.AsyncClient


class GraphQLClient:
    """Send GraphQL requests for one simulated user and record their latency and errors."""

    def __init__(self, endpoint: Endpoint, recorder: Recorder, token: str = "") -> None:
        self.endpoint = endpoint
        self.recorder = recorder
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    async def execute(
        self, operation: str, document: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return the `data` of the result; raise RequestFailed after recording any error."""
        body = orjson.dumps({"query": document, "variables": variables or {}})
        started = time.perf_counter()
        try:
            response = await self.endpoint.http.post(
                f"{self.endpoint.base_url}/graphql", content=body, headers=self.headers
            )
        except httpx.HTTPError as error:
            self.recorder.error(operation, f"transport {type(error).__name__}", expected=False)
            raise RequestFailed from error
        self.recorder.latency(operation, time.perf_counter() - started)
        return self._data(operation, response)

    def _data(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        # GraphQL errors come with status 200 here, so any other status is a failure.
        if response.status_code != 200:
            self.recorder.error(operation, f"HTTP {response.status_code}", expected=False)
            raise RequestFailed
        try:
            result = orjson.loads(response.content)
        except orjson.JSONDecodeError as error:
            self.recorder.error(operation, "response body is not JSON", expected=False)
            raise RequestFailed from error
        for graphql_error in result.get("errors") or []:
            code = (graphql_error.get("extensions") or {}).get("code", "without code")
            self.recorder.error(operation, f"GraphQL {code}", expected=False)
        if result.get("errors") or not result.get("data"):
            raise RequestFailed
        data: dict[str, Any] = result["data"]
        return data

    async def download(self, operation: str, url: str) -> int:
        """Fetch an export file and return its size in bytes."""
        started = time.perf_counter()
        try:
            response = await self.endpoint.http.get(url)
        except httpx.HTTPError as error:
            self.recorder.error(operation, f"transport {type(error).__name__}", expected=False)
            raise RequestFailed from error
        self.recorder.latency(operation, time.perf_counter() - started)
        if response.status_code != 200:
            self.recorder.error(operation, f"HTTP {response.status_code}", expected=False)
            raise RequestFailed
        return len(response.content)

    def user_errors(self, operation: str, errors: list[dict[str, str]], expected: set[str]) -> None:
        for error in errors:
            code = error["code"]
            self.recorder.error(operation, f"user error {code}", expected=code in expected)


@asynccontextmanager
async def http_endpoints(base_urls: list[str], connections: int) -> AsyncIterator[list[Endpoint]]:
    """Open one connection pool per server address and close them when the block ends."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    endpoints = [
        Endpoint(url, httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_SECONDS))
        for url in base_urls
    ]
    try:
        yield endpoints
    finally:
        for endpoint in endpoints:
            await endpoint.http.aclose()
