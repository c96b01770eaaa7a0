"""Load test: many clients drive real `tourdesk serve` processes over loopback for a fixed time.

    python bench/load.py --backend sqlite
    python bench/load.py --backend postgres --workers 2 --clients 20 --duration 60

Each run seeds a fresh database with `tourdesk seed --bookings N --seed S`, starts the servers,
signs in as Alpine's admin and lets `--clients` closed-loop clients send a weighted mix of
operations without pauses: the guests, customers and users lists with filters, pages of 100
bookings with their buyer, guests, departure and activity, `createBooking` (valid, and a few
invalid ones that must be rejected), and `createExport` followed by polling `node(id:)` until the
export ends and downloading its file. Then it stops the servers and prints, per operation, the
requests, requests per second, p50 and p99 latency and the errors by kind. Finally it checks that
the database holds the seeded bookings plus those that `createBooking` reported as created.

The exit code is 1 when a response was an HTTP 5xx, an unexpected GraphQL or user error, or when
the booking count is off; 0 otherwise. `--json PATH` also writes the results as JSON.
"""

import argparse
import asyncio
import os
import random
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
TOURDESK = Path(sys.executable).parent / "tourdesk"
DEFAULT_POSTGRES_SERVER = os.environ.get(
    "TOURDESK_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"
)
# Every process of a run signs export URLs with this key; it only has to be the same everywhere.
SECRET_KEY = "load-benchmark-" + "k" * 32
ADMIN_EMAIL = "admin@alpine.example"
# The password of the seeded users (DEMO_PASSWORD in api/seeding/layout.py).
DEMO_PASSWORD = "tourdesk-demo"
STARTUP_SECONDS = 60
# How long a client waits between two reads of a running export, and at most for it to end.
EXPORT_POLL_SECONDS = 0.5
EXPORT_TIMEOUT_SECONDS = 120
REQUEST_TIMEOUT_SECONDS = 60
EXPORT_DONE_STATES = {"DONE", "FAILED", "EXPIRED"}
# Departures with fewer free seats than this are not booked, so most bookings fit.
MIN_FREE_SEATS = 3


# ----------------------------------------------------------------------------------------------
# GraphQL documents

SIGN_IN = """
mutation SignIn($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code message } }
}"""

CUSTOM_FIELDS = "query CustomFields { customFields { key scope type required options } }"

FUTURE_DEPARTURES = """
query FutureDepartures($after: String, $from: Date!) {
  departures(first: 100, after: $after, filter: {tripDate: {from: $from}}) {
    pageInfo { hasNextPage endCursor }
    nodes { id capacity seatsLeft }
  }
}"""

GUESTS = """
query Guests($filter: GuestFilterInput, $orderBy: GuestOrder) {
  guests(first: 50, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id firstName lastName email category checkedIn
      answers { key value }
      booking { reference status departure { startsAt activity { name } } }
    }
  }
}"""

CUSTOMERS = """
query Customers($filter: CustomerFilterInput, $orderBy: CustomerOrder) {
  customers(first: 50, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id email firstName lastName country marketingConsent bookingCount
      totalSpent { amount currency } lastBookingAt
    }
  }
}"""

USERS = """
query Users($filter: UserFilterInput, $orderBy: UserOrder) {
  users(first: 50, filter: $filter, orderBy: $orderBy) {
    totalCount
    nodes { id email firstName lastName isActive roles lastSignInAt }
  }
}"""

BOOKINGS_PAGE = """
query BookingsPage($filter: BookingFilterInput, $orderBy: BookingOrder) {
  bookings(first: 100, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id reference status channel createdAt
        total { amount currency }
        buyer { firstName lastName email phone country }
        guests { id firstName lastName category checkedIn }
        departure { id startsAt capacity activity { id name } }
      }
    }
  }
}"""

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id reference status guests { id } }
    errors { field code message }
  }
}"""

CREATE_EXPORT = """
mutation CreateExport($input: CreateExportInput!) {
  createExport(input: $input) {
    export { id status rowCount url }
    errors { field code message }
  }
}"""

EXPORT_PROGRESS = """
query ExportProgress($id: ID!) {
  node(id: $id) {
    ... on Export { status progress { rowsWritten rowsExpected } rowCount url error }
  }
}"""


# ----------------------------------------------------------------------------------------------
# Recording


@dataclass
class OperationStats:
    latencies: list[float] = field(default_factory=list)
    # Error kind, such as "HTTP 503" or "GraphQL FORBIDDEN", by whether it was expected.
    expected_errors: Counter[str] = field(default_factory=Counter)
    unexpected_errors: Counter[str] = field(default_factory=Counter)


class Recorder:
    """Latencies and errors per operation name, in insertion order for the report."""

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


# ----------------------------------------------------------------------------------------------
# The GraphQL client


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
        if response.status_code >= 500:
            self.recorder.error(operation, f"HTTP {response.status_code}", expected=False)
            raise RequestFailed
        if response.status_code != 200:
            self.recorder.error(operation, f"HTTP {response.status_code}", expected=False)
            raise RequestFailed
        result = orjson.loads(response.content)
        for error in result.get("errors") or []:
            code = (error.get("extensions") or {}).get("code", "without code")
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


# ----------------------------------------------------------------------------------------------
# What the operations need to know about the seeded data


@dataclass
class World:
    """Facts read once before the load starts, to build valid requests."""

    # Free seats by departure ID, for future departures; updated as bookings succeed.
    free_seats: dict[str, int]
    booking_fields: list[dict[str, Any]]
    guest_fields: list[dict[str, Any]]
    anchor: date
    # perf_counter() value after which clients start no new operation and stop following exports.
    deadline: float = float("inf")


async def read_world(client: GraphQLClient, anchor: date) -> World:
    fields = (await client.execute("setup", CUSTOM_FIELDS))["customFields"]
    free_seats: dict[str, int] = {}
    after = None
    while True:
        variables = {"after": after, "from": (anchor + timedelta(days=1)).isoformat()}
        page = (await client.execute("setup", FUTURE_DEPARTURES, variables))["departures"]
        for departure in page["nodes"]:
            if departure["seatsLeft"] >= MIN_FREE_SEATS:
                free_seats[departure["id"]] = departure["seatsLeft"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    if not free_seats:
        raise SystemExit("The seeded database has no future departure with free seats to book.")
    return World(
        free_seats=free_seats,
        booking_fields=[f for f in fields if f["scope"] == "BOOKING"],
        guest_fields=[f for f in fields if f["scope"] == "GUEST"],
        anchor=anchor,
    )


# ----------------------------------------------------------------------------------------------
# Random inputs

FIRST_NAMES = ["Anna", "Luca", "Mia", "Noah", "Lea", "Elias", "Sara", "Jonas", "Zoé", "Björn"]
LAST_NAMES = ["Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Rossi", "Favre", "Graf"]
SEARCH_TERMS = ["mül", "meier", "anna", "son", "ri", "example.com", "keller", "zz-none"]
# Buyers come from a pool of emails, so some bookings add to an existing customer.
BUYER_EMAILS = 2000


def random_date_range(rng: random.Random, anchor: date) -> dict[str, str]:
    start = anchor + timedelta(days=rng.randint(-120, 80))
    return {
        "from": start.isoformat(),
        "to": (start + timedelta(days=rng.randint(0, 13))).isoformat(),
    }


def answer_for(rng: random.Random, definition: dict[str, Any], anchor: date) -> str:
    kind = definition["type"]
    if kind == "NUMBER":
        return str(rng.randint(40, 110))
    if kind == "SELECT":
        return str(rng.choice(definition["options"]))
    if kind == "BOOLEAN":
        return rng.choice(["true", "false"])
    if kind == "DATE":
        return (anchor + timedelta(days=rng.randint(0, 60))).isoformat()
    return f"Hotel {rng.choice(LAST_NAMES)}, Interlaken"


def answers_for(
    rng: random.Random, definitions: list[dict[str, Any]], anchor: date
) -> list[dict[str, str]]:
    """Answer every required question and about half of the optional ones."""
    return [
        {"key": definition["key"], "value": answer_for(rng, definition, anchor)}
        for definition in definitions
        if definition["required"] or rng.random() < 0.5
    ]


def booking_input(
    rng: random.Random, world: World, departure_id: str, seats: int
) -> dict[str, Any]:
    guests = [
        {
            "firstName": rng.choice(FIRST_NAMES),
            "lastName": rng.choice(LAST_NAMES),
            "category": rng.choice(["ADULT", "ADULT", "CHILD", "SENIOR"]),
            "answers": answers_for(rng, world.guest_fields, world.anchor),
        }
        for _ in range(seats)
    ]
    return {
        "departure": departure_id,
        "buyer": {
            "firstName": rng.choice(FIRST_NAMES),
            "lastName": rng.choice(LAST_NAMES),
            "email": f"load-{rng.randrange(BUYER_EMAILS)}@example.com",
            "country": rng.choice(["CH", "DE", "FR", ""]),
            "language": rng.choice(["de", "en", "fr"]),
            "marketingConsent": rng.random() < 0.3,
        },
        "guests": guests,
        "totalAmount": f"{rng.randint(30, 400) * seats}.{rng.choice(['00', '50'])}",
        "answers": answers_for(rng, world.booking_fields, world.anchor),
    }


# ----------------------------------------------------------------------------------------------
# Operations


Operation = Callable[[GraphQLClient, random.Random, World], Awaitable[None]]


async def list_guests(client: GraphQLClient, rng: random.Random, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {},
        {"tripDate": random_date_range(rng, world.anchor)},
        {"search": rng.choice(SEARCH_TERMS)},
        {"category": ["CHILD", "INFANT"], "checkedIn": False},
        {"includePartners": True, "status": ["CONFIRMED"]},
        {"bookingDate": random_date_range(rng, world.anchor), "includePartners": True},
    ]
    order = {"field": rng.choice(["TRIP_START", "LAST_NAME", "BOOKING_DATE"])}
    variables = {"filter": rng.choice(filters), "orderBy": order}
    await client.execute("guests", GUESTS, variables)


async def list_customers(client: GraphQLClient, rng: random.Random, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {},
        {"search": rng.choice(SEARCH_TERMS)},
        {"marketingConsent": True},
        {"tripDate": random_date_range(rng, world.anchor), "status": ["CONFIRMED"]},
    ]
    order = {"field": rng.choice(["LAST_BOOKING_AT", "LAST_NAME", "BOOKING_COUNT"])}
    variables = {"filter": rng.choice(filters), "orderBy": order}
    await client.execute("customers", CUSTOMERS, variables)


async def list_users(client: GraphQLClient, rng: random.Random, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {},
        {"role": [rng.choice(["ADMIN", "AGENT", "GUIDE"])]},
        {"search": rng.choice(["an", "keller", "example"]), "isActive": True},
    ]
    variables = {"filter": rng.choice(filters), "orderBy": {"field": "EMAIL"}}
    await client.execute("users", USERS, variables)


async def page_bookings(client: GraphQLClient, rng: random.Random, world: World) -> None:
    filters: list[dict[str, Any]] = [
        {},
        {"status": ["CONFIRMED", "PENDING"]},
        {"tripDate": random_date_range(rng, world.anchor)},
        {"includePartners": True},
    ]
    order = {"field": rng.choice(["CREATED_AT", "TRIP_START", "REFERENCE"])}
    variables = {"filter": rng.choice(filters), "orderBy": order}
    await client.execute("bookings page", BOOKINGS_PAGE, variables)


def pick_departure(rng: random.Random, world: World, seats: int) -> str:
    while True:
        departure_id = rng.choice(list(world.free_seats))
        if world.free_seats[departure_id] >= seats:
            return departure_id
        del world.free_seats[departure_id]


async def create_booking(client: GraphQLClient, rng: random.Random, world: World) -> None:
    seats = rng.choice([1, 1, 2, 2, 3])
    departure_id = pick_departure(rng, world, seats)
    variables = {"input": booking_input(rng, world, departure_id, seats)}
    # Reserved before the request, so that concurrent clients do not overbook from stale counts.
    world.free_seats[departure_id] -= seats
    try:
        data = await client.execute("createBooking", CREATE_BOOKING, variables)
    except RequestFailed:
        client.recorder.bookings_unknown += 1
        raise
    payload = data["createBooking"]
    # Another client may have taken the last seats between the read and this booking.
    client.user_errors("createBooking", payload["errors"], expected={"CAPACITY_EXCEEDED"})
    if payload["booking"] is not None:
        client.recorder.bookings_created += 1
    else:
        world.free_seats[departure_id] = 0


async def create_invalid_booking(client: GraphQLClient, rng: random.Random, world: World) -> None:
    """Send a booking without the required answers and with a bad email: it must write nothing."""
    departure_id = pick_departure(rng, world, 1)
    booking = booking_input(rng, world, departure_id, 1)
    booking["buyer"]["email"] = "not-an-email"
    for guest in booking["guests"]:
        guest["answers"] = []
    booking["answers"] = []
    operation = "createBooking (invalid)"
    data = await client.execute(operation, CREATE_BOOKING, {"input": booking})
    payload = data["createBooking"]
    expected = {"INVALID", "REQUIRED"}
    client.user_errors(operation, payload["errors"], expected=expected)
    if payload["booking"] is not None or not payload["errors"]:
        client.recorder.error(operation, "invalid booking accepted", expected=False)
        client.recorder.bookings_created += 1


def export_input(rng: random.Random, world: World) -> dict[str, Any]:
    """Mostly a week of guests; sometimes all guests, the customers or the users."""
    draw = rng.random()
    if draw < 0.55:
        filter_ = {"tripDate": random_date_range(rng, world.anchor), "includePartners": True}
        return {"list": "GUESTS", "filter": filter_}
    if draw < 0.65:
        return {"list": "GUESTS", "filter": {"includePartners": True}}
    if draw < 0.85:
        return {"list": "CUSTOMERS", "filter": {"search": rng.choice(SEARCH_TERMS)}}
    return {"list": "USERS", "options": {"delimiter": "SEMICOLON", "byteOrderMark": True}}


async def export_to_csv(client: GraphQLClient, rng: random.Random, world: World) -> None:
    """Request an export, poll it until it ends and download the file."""
    started = time.perf_counter()
    data = await client.execute("createExport", CREATE_EXPORT, {"input": export_input(rng, world)})
    payload = data["createExport"]
    client.user_errors("createExport", payload["errors"], expected=set())
    export = payload["export"]
    if export is None:
        return

    deadline = started + EXPORT_TIMEOUT_SECONDS
    while export["status"] not in EXPORT_DONE_STATES:
        # Following it past the end of the load would stretch the measured time with one client.
        if time.perf_counter() > world.deadline:
            client.recorder.error("export (end to end)", "unfinished at the end", expected=True)
            return
        if time.perf_counter() > deadline:
            client.recorder.error("export (end to end)", "timed out", expected=False)
            return
        await asyncio.sleep(EXPORT_POLL_SECONDS)
        node = await client.execute("export poll", EXPORT_PROGRESS, {"id": export["id"]})
        export = {**node["node"], "id": export["id"]}

    if export["status"] != "DONE":
        kind = f"export {export['status']}: {export.get('error')}"
        client.recorder.error("export (end to end)", kind, expected=False)
        return
    await client.download("export download", export["url"])
    client.recorder.latency("export (end to end)", time.perf_counter() - started)


# Relative weights of the mix: mostly reads, a fifth bookings, a few exports.
OPERATIONS: list[tuple[Operation, int]] = [
    (list_guests, 24),
    (list_customers, 14),
    (list_users, 8),
    (page_bookings, 20),
    (create_booking, 22),
    (create_invalid_booking, 3),
    (export_to_csv, 4),
]


# Rows of the report, in this order; every operation above records under these names.
REPORT_ORDER = [
    "guests",
    "customers",
    "users",
    "bookings page",
    "createBooking",
    "createBooking (invalid)",
    "createExport",
    "export poll",
    "export download",
    "export (end to end)",
]


async def run_client(number: int, client: GraphQLClient, world: World, seed: int) -> None:
    """Send operations back to back until the deadline; each client starts with another one."""
    rng = random.Random(seed * 1000 + number)
    operations = [operation for operation, _ in OPERATIONS]
    weights = [weight for _, weight in OPERATIONS]
    # The first round goes through the operations in turn, so a short run still has every kind.
    operation = operations[number % len(operations)]
    while time.perf_counter() < world.deadline:
        # The error is recorded; the client goes on like a user who retries later.
        with suppress(RequestFailed):
            await operation(client, rng, world)
        operation = rng.choices(operations, weights)[0]


# ----------------------------------------------------------------------------------------------
# Databases


@dataclass
class Database:
    backend: str
    url: str
    # For PostgreSQL, the name of the database this run created and drops.
    postgres_name: str = ""


def run_tourdesk(url: str, *arguments: str) -> str:
    environment = {**os.environ, "TOURDESK_DATABASE_URL": url, "TOURDESK_ENV": "development"}
    completed = subprocess.run(
        [str(TOURDESK), *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"tourdesk {' '.join(arguments)} failed:\n{completed.stderr}")
    return completed.stdout


def postgres_admin(server: str, statement: str, *, attempts: int = 1) -> None:
    """Run one statement on the server's `postgres` database, retrying every 2 seconds."""
    command = ["psql", f"{server}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", statement]
    for attempt in range(1, attempts + 1):
        if subprocess.run(command).returncode == 0:
            return
        if attempt < attempts:
            time.sleep(2)
    raise SystemExit(f"psql failed {attempts} times to run: {statement}")


@contextmanager
def fresh_database(backend: str, work_dir: Path, postgres_server: str) -> Iterator[Database]:
    """Create an empty database for this run and remove it afterwards."""
    if backend == "sqlite":
        yield Database(backend, f"sqlite://{work_dir / 'load.sqlite3'}")
        return
    name = f"tourdesk_load_{os.getpid()}_{int(time.time())}"
    postgres_admin(postgres_server, f'CREATE DATABASE "{name}"')
    try:
        yield Database(backend, f"{postgres_server}/{name}", postgres_name=name)
    finally:
        # Retried, so that a server restarting for a few seconds does not leave the database.
        postgres_admin(
            postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', attempts=15
        )


def count_bookings(database: Database) -> int:
    if database.backend == "sqlite":
        with sqlite3.connect(database.url.removeprefix("sqlite://")) as connection:
            return int(connection.execute("SELECT COUNT(*) FROM booking").fetchone()[0])
    output = subprocess.run(
        ["psql", database.url, "-tAc", "SELECT COUNT(*) FROM booking"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(output.strip())


# ----------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_has_workers_option() -> bool:
    help_text = subprocess.run(
        [str(TOURDESK), "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    return "--workers" in help_text


@dataclass
class Servers:
    processes: list[subprocess.Popen[bytes]]
    base_urls: list[str]
    log_files: list[Path]
    how: str


def start_server(url: str, work_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        # Production, as deployed: unexpected errors are masked and GraphiQL is off.
        "TOURDESK_ENV": "production",
        "TOURDESK_DATABASE_URL": url,
        "TOURDESK_SECRET_KEY": SECRET_KEY,
        "TOURDESK_EXPORT_DIR": str(work_dir / "exports"),
    }
    command = [str(TOURDESK), "serve", "--port", str(port), "--log-format", "text"]
    if workers > 1:
        command += ["--workers", str(workers)]
    log = (work_dir / f"server-{port}.log").open("wb")
    return subprocess.Popen(
        command, cwd=work_dir, env=environment, stdout=log, stderr=subprocess.STDOUT
    )


def wait_until_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The server at {base_url} exited with code {process.returncode}.")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"The server at {base_url} did not become ready within {STARTUP_SECONDS} s.")


@contextmanager
def running_servers(url: str, work_dir: Path, workers: int) -> Iterator[Servers]:
    """Start `workers` server processes: one `serve --workers N` if it exists, else N ports."""
    if workers > 1 and serve_has_workers_option():
        ports, per_process = [free_port()], workers
        how = f"tourdesk serve --workers {workers}"
    else:
        ports, per_process = [free_port() for _ in range(workers)], 1
        how = f"{workers} x tourdesk serve, one port each"
    processes = [start_server(url, work_dir, port, per_process) for port in ports]
    servers = Servers(
        processes=processes,
        base_urls=[f"http://127.0.0.1:{port}" for port in ports],
        log_files=[work_dir / f"server-{port}.log" for port in ports],
        how=how,
    )
    try:
        for base_url, process in zip(servers.base_urls, processes, strict=True):
            wait_until_ready(base_url, process)
        yield servers
    finally:
        stop(processes)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ----------------------------------------------------------------------------------------------
# CPU accounting from /proc (Linux)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """Return `pid` and all its descendants that are still running."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            pids.extend(process_tree(int(child)))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """Return the user plus system CPU time the processes used so far."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which is in brackets and may contain spaces.
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def machine_busy_seconds() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of the whole machine since boot, over all cores."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuUse:
    wall: float
    client: float
    servers: float
    machine_busy: float
    machine_total: float


@contextmanager
def measured_cpu(server_pids: list[int]) -> Iterator[list[CpuUse]]:
    """Measure wall, client, server and machine CPU time over the block; yields a list of one."""
    result: list[CpuUse] = []
    wall, client, servers = time.perf_counter(), client_cpu_seconds(), cpu_seconds(server_pids)
    busy, total = machine_busy_seconds()
    yield result
    busy_after, total_after = machine_busy_seconds()
    result.append(
        CpuUse(
            wall=time.perf_counter() - wall,
            client=client_cpu_seconds() - client,
            servers=cpu_seconds(server_pids) - servers,
            machine_busy=busy_after - busy,
            machine_total=total_after - total,
        )
    )


# ----------------------------------------------------------------------------------------------
# The run


@dataclass
class RunSettings:
    backend: str
    clients: int
    duration: float
    bookings: int
    seed: int
    workers: int
    postgres_server: str


async def sign_in(endpoint: Endpoint, recorder: Recorder) -> str:
    client = GraphQLClient(endpoint, recorder)
    variables = {"email": ADMIN_EMAIL, "password": DEMO_PASSWORD}
    payload = (await client.execute("setup", SIGN_IN, variables))["login"]
    if not payload["token"]:
        raise SystemExit(f"Signing in as {ADMIN_EMAIL} failed: {payload['errors']}")
    return str(payload["token"])


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


async def drive_load(
    settings: RunSettings, base_urls: list[str], server_pids: list[int], recorder: Recorder
) -> CpuUse:
    """Sign in one client per simulated user and run the mix until the duration has passed."""
    async with http_endpoints(base_urls, settings.clients) as endpoints:
        setup = GraphQLClient(endpoints[0], recorder, await sign_in(endpoints[0], recorder))
        world = await read_world(setup, datetime.now(UTC).date())
        # Clients are spread over the server ports in turn, each with its own token.
        clients = []
        for number in range(settings.clients):
            endpoint = endpoints[number % len(endpoints)]
            clients.append(GraphQLClient(endpoint, recorder, await sign_in(endpoint, recorder)))
        recorder.operations.pop("setup", None)

        with measured_cpu(server_pids) as cpu:
            world.deadline = time.perf_counter() + settings.duration
            await asyncio.gather(
                *(
                    run_client(number, client, world, settings.seed)
                    for number, client in enumerate(clients)
                )
            )
    return cpu[0]


# ----------------------------------------------------------------------------------------------
# Report


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def operation_rows(recorder: Recorder, wall: float) -> list[dict[str, Any]]:
    rows = []
    for name in REPORT_ORDER:
        stats = recorder.stats(name)
        latencies = sorted(stats.latencies)
        # A request without a response (transport error) has no latency but counts as sent.
        transport = sum(
            n for kind, n in stats.unexpected_errors.items() if kind.startswith("transport")
        )
        requests = len(latencies) + transport
        rows.append(
            {
                "operation": name,
                "requests": requests,
                "per_second": requests / wall,
                "p50_ms": percentile(latencies, 0.50) * 1000,
                "p99_ms": percentile(latencies, 0.99) * 1000,
                "expected_errors": dict(stats.expected_errors),
                "unexpected_errors": dict(stats.unexpected_errors),
            }
        )
    return rows


def format_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(errors.items())) or "0"


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "| operation | requests | req/s | p50 ms | p99 ms | expected errors | unexpected errors |"
    )
    print("|---|---:|---:|---:|---:|---|---|")
    for row in rows:
        if not row["requests"]:
            print(f"| {row['operation']} | 0 | - | - | - | - | - |")
            continue
        print(
            f"| {row['operation']} | {row['requests']:,} | {row['per_second']:.1f} | "
            f"{row['p50_ms']:.0f} | {row['p99_ms']:.0f} | "
            f"{format_errors(row['expected_errors'])} | {format_errors(row['unexpected_errors'])} |"
        )


def print_summary(
    settings: RunSettings, how: str, rows: list[dict[str, Any]], cpu: CpuUse
) -> dict[str, Any]:
    http_rows = [row for row in rows if row["operation"] != "export (end to end)"]
    requests = sum(row["requests"] for row in http_rows)
    summary = {
        "backend": settings.backend,
        "servers": how,
        "clients": settings.clients,
        "seconds": cpu.wall,
        "requests": requests,
        "per_second": requests / cpu.wall,
        "client_cpu_percent": 100 * cpu.client / cpu.wall,
        "server_cpu_ms_per_request": 1000 * cpu.servers / max(requests, 1),
        "server_cpu_percent": 100 * cpu.servers / cpu.wall,
        "other_cpu_percent": 100 * (cpu.machine_busy - cpu.client - cpu.servers) / cpu.wall,
        "machine_busy_percent": 100 * cpu.machine_busy / max(cpu.machine_total, 1e-9),
    }
    print(
        f"\n{settings.backend}, {how}, {settings.clients} clients, {cpu.wall:.1f} s: "
        f"{requests:,} requests, {summary['per_second']:.1f} requests/s"
    )
    print(
        f"CPU, in % of one core: load client {summary['client_cpu_percent']:.0f}%, servers "
        f"{summary['server_cpu_percent']:.0f}% ({summary['server_cpu_ms_per_request']:.1f} ms per "
        f"request, export jobs included), other processes {summary['other_cpu_percent']:.0f}% "
        f"(PostgreSQL and anything else on the machine); the machine's {os.cpu_count()} cores "
        f"were {summary['machine_busy_percent']:.0f}% busy\n"
    )
    return summary


def server_log_errors(log_files: list[Path], limit: int = 20) -> list[str]:
    """Return the last ERROR lines of the server logs, to explain unexpected errors."""
    lines = []
    for log_file in log_files:
        text = log_file.read_text(encoding="utf-8", errors="replace")
        lines += [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]
    return lines[-limit:]


# ----------------------------------------------------------------------------------------------
# Main


def parse_arguments() -> tuple[RunSettings, Path | None]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=20, help="Concurrent clients (default 20).")
    parser.add_argument("--duration", type=float, default=60, help="Seconds of load (default 60).")
    parser.add_argument(
        "--bookings", type=int, default=20_000, help="Bookings to seed (default 20,000)."
    )
    parser.add_argument("--seed", type=int, default=1, help="Seed of data and clients (default 1).")
    parser.add_argument(
        "--workers",
        type=int,
        help="Server processes (default 1 on SQLite, 2 on PostgreSQL).",
    )
    parser.add_argument(
        "--postgres-server",
        default=DEFAULT_POSTGRES_SERVER,
        help="PostgreSQL server URL without a database name; the run creates and drops its own "
        "database there. (default: TOURDESK_BENCH_POSTGRES_URL or %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="Also write the results to this JSON file.")
    arguments = parser.parse_args()
    if arguments.clients < 1 or arguments.duration <= 0 or arguments.bookings < 1:
        parser.error("--clients, --duration and --bookings must be positive.")
    workers = arguments.workers or (1 if arguments.backend == "sqlite" else 2)
    settings = RunSettings(
        backend=arguments.backend,
        clients=arguments.clients,
        duration=arguments.duration,
        bookings=arguments.bookings,
        seed=arguments.seed,
        workers=workers,
        postgres_server=arguments.postgres_server.rstrip("/"),
    )
    return settings, arguments.json


def main() -> None:
    settings, json_path = parse_arguments()
    work_dir = Path(tempfile.mkdtemp(prefix="tourdesk-load-"))
    try:
        passed = run(settings, work_dir, json_path)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    sys.exit(0 if passed else 1)


def run(settings: RunSettings, work_dir: Path, json_path: Path | None) -> bool:
    """Seed, serve, load, stop and check; return True when the run met its targets."""
    recorder = Recorder()
    with fresh_database(settings.backend, work_dir, settings.postgres_server) as database:
        print(
            f"Seeding {settings.bookings:,} bookings (seed {settings.seed}) on {settings.backend}"
        )
        run_tourdesk(database.url, "migrate")
        run_tourdesk(
            database.url, "seed", "--bookings", str(settings.bookings), "--seed", str(settings.seed)
        )
        seeded = count_bookings(database)

        with running_servers(database.url, work_dir, settings.workers) as servers:
            server_pids = [
                pid for process in servers.processes for pid in process_tree(process.pid)
            ]
            print(f"Load: {settings.clients} clients for {settings.duration:g} s on {servers.how}")
            cpu = run_coroutine(drive_load(settings, servers.base_urls, server_pids, recorder))
            log_errors = server_log_errors(servers.log_files)
        counted = count_bookings(database)

    rows = operation_rows(recorder, cpu.wall)
    print()
    print_table(rows)
    summary = print_summary(settings, servers.how, rows, cpu)
    check = booking_check(settings.bookings, seeded, recorder, counted)
    print(check["message"])

    unexpected = sum(sum(row["unexpected_errors"].values()) for row in rows)
    if unexpected and log_errors:
        print("\nLast errors in the server logs:", *log_errors, sep="\n")
    if json_path:
        json_path.write_bytes(
            orjson.dumps(
                {**summary, "operations": rows, "booking_check": check}, option=orjson.OPT_INDENT_2
            )
        )
    return unexpected == 0 and check["passed"]


def booking_check(requested: int, seeded: int, recorder: Recorder, counted: int) -> dict[str, Any]:
    expected = seeded + recorder.bookings_created
    passed = seeded == requested and counted == expected and recorder.bookings_unknown == 0
    message = (
        f"Bookings: {seeded:,} seeded + {recorder.bookings_created:,} created = {expected:,}; "
        f"the database has {counted:,}: {'OK' if passed else 'MISMATCH'}"
    )
    if recorder.bookings_unknown:
        message += f" ({recorder.bookings_unknown} createBooking requests got no answer)"
    return {
        "seeded": seeded,
        "created": recorder.bookings_created,
        "unknown": recorder.bookings_unknown,
        "counted": counted,
        "passed": passed,
        "message": message,
    }


def run_coroutine(coroutine: Coroutine[Any, Any, CpuUse]) -> CpuUse:
    """Run on uvloop when it is installed (uvicorn[standard] brings it): a cheaper client."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    main()
