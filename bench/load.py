"""Load test: many clients drive real `tourdesk serve` processes over loopback for a fixed time.

    python bench/load.py --backend sqlite
    python bench/load.py --backend postgres --workers 2 --clients 20 --duration 60

Each run seeds a fresh database with `tourdesk seed --bookings N --seed S`, starts the servers
and signs in as Alpine's admin. Then `--clients` closed-loop clients send a weighted mix of
operations without pauses. The mix has the guests, customers and users lists with filters, pages
of 100 bookings with their buyer, guests, departure and activity, and `createBooking`, valid and a
few invalid ones that must be rejected. It also has `createExport`, followed by polling
`node(id:)` until the export ends and downloading its file. Then the script stops the servers
and prints, per operation, the requests, requests per second, p50 and p99 latency and the errors
by kind. Finally it checks that the database holds the seeded bookings plus those that
`createBooking` reported as created.

The exit code is 1 when a response was an HTTP 5xx, an unexpected GraphQL or user error, or when
the booking count is off; 0 otherwise. `--json PATH` also writes the results as JSON.
"""

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from loadtest.client import Endpoint, GraphQLClient, Recorder, http_endpoints
from loadtest.documents import SIGN_IN
from loadtest.operations import MIX, read_world, run_client
from loadtest.processes import (
    CpuUse,
    Database,
    Servers,
    count_bookings,
    fresh_database,
    measured_cpu,
    run_tourdesk,
    running_servers,
)
from loadtest.report import (
    booking_check,
    operation_rows,
    print_summary,
    print_table,
    server_log_errors,
)

DEFAULT_POSTGRES_SERVER = os.environ.get(
    "TOURDESK_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"
)
ADMIN_EMAIL = "admin@alpine.example"
# The password of the seeded users (DEMO_PASSWORD in api/seeding/layout.py).
DEMO_PASSWORD = "tourdesk-demo"


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
    # Names of MIX entries to send.
    mix: list[str]


async def sign_in(endpoint: Endpoint, recorder: Recorder) -> str:
    client = GraphQLClient(endpoint, recorder)
    variables = {"email": ADMIN_EMAIL, "password": DEMO_PASSWORD}
    payload = (await client.execute("setup", SIGN_IN, variables))["login"]
    if not payload["token"]:
        raise SystemExit(f"Signing in as {ADMIN_EMAIL} failed: {payload['errors']}")
    return str(payload["token"])


async def drive_load(
    settings: RunSettings,
    servers: Servers,
    database: Database,
    recorder: Recorder,
) -> CpuUse:
    """Sign in one client per simulated user and run the mix until the duration has passed."""
    async with http_endpoints(servers.base_urls, settings.clients) as endpoints:
        setup = GraphQLClient(endpoints[0], recorder, await sign_in(endpoints[0], recorder))
        world = await read_world(setup, datetime.now(UTC).date())
        # Clients are spread over the server ports in turn, each with its own token.
        clients = []
        for number in range(settings.clients):
            endpoint = endpoints[number % len(endpoints)]
            clients.append(GraphQLClient(endpoint, recorder, await sign_in(endpoint, recorder)))
        recorder.operations.pop("setup", None)

        with measured_cpu(servers, database) as cpu:
            world.deadline = time.perf_counter() + settings.duration
            await asyncio.gather(
                *(
                    run_client(number, client, world, settings.seed, settings.mix)
                    for number, client in enumerate(clients)
                )
            )
    return cpu[0]


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
        "--only",
        action="append",
        choices=list(MIX),
        help="Send only this kind of operation; repeat for several. (default: the whole mix)",
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
    if arguments.backend == "sqlite" and workers > 1:
        parser.error(f"--workers is {workers}, but SQLite supports one server process; use 1.")
    settings = RunSettings(
        backend=arguments.backend,
        clients=arguments.clients,
        duration=arguments.duration,
        bookings=arguments.bookings,
        seed=arguments.seed,
        workers=workers,
        postgres_server=arguments.postgres_server.rstrip("/"),
        mix=arguments.only or list(MIX),
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
            print(f"Load: {settings.clients} clients for {settings.duration:g} s on {servers.how}")
            cpu = run_coroutine(drive_load(settings, servers, database, recorder))
            log_errors = server_log_errors(servers.log_files)
        counted = count_bookings(database)

    rows = operation_rows(recorder, cpu.wall)
    print()
    print_table(rows)
    summary = print_summary(settings.backend, settings.clients, servers.how, rows, cpu)
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


def run_coroutine(coroutine: Coroutine[Any, Any, CpuUse]) -> CpuUse:
    """Run on uvloop when it is installed (uvicorn[standard] brings it): a cheaper client."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    main()
