"""Benchmark: how the list pages grow from 10,000 to 1,000,000 guests.

    python bench/growth.py --backend sqlite --runs 15 --explain
    python bench/growth.py --backend postgres --runs 15 --explain

Each page is a GraphQL document run in-process as Alpine's admin, through the same schema, context
and DataLoaders as the server (no HTTP). The data comes from `tourdesk seed --bookings N --seed 1
--anchor-date 2026-12-01` for N = 4,300 (10,105 guests) and N = 430,000 (about 1,000,000 guests).
The seeded databases are never changed: the benchmark works on copies, bench/var/growth-N-1.sqlite3
or the PostgreSQL database tourdesk_growth_N_1, made once and migrated on every run, so new indexes
apply. `--fresh` makes the copies again.

For each page it prints the median wall-clock time of `--runs` runs on both sizes and their ratio.
It also prints the median CPU time of this process. That is the Python work, and on SQLite the
database's work too, because SQLite runs in a thread of the process. With `--explain` it prints
the plan (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL) of every SQL statement the page
sent, the totalCount statement included, and how long that statement took when run again alone.
"""

import argparse
import asyncio
import gc
import json
import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEEDED_SQLITE = Path(os.environ.get("TOURDESK_BENCH_DATA", "/work/benchdata"))
POSTGRES_SERVER = os.environ.get(
    "TOURDESK_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"
)
SIZES = (4_300, 430_000)
RNG_SEED = 1
WARMUP_RUNS = 2

GUEST_FIELDS = """
    edges { cursor node {
      id firstName lastName category checkedIn
      booking { reference departure { startsAt } }
    } }
    pageInfo { hasNextPage endCursor }
"""

BOOKINGS_PAGE = """
{ bookings(first: 100) { edges { node {
    id reference status createdAt
    buyer { firstName lastName email }
    guests { id firstName lastName category }
    departure { startsAt activity { name } }
} } pageInfo { hasNextPage endCursor } } }
"""


def guests_page(arguments: str, *, total_count: bool = True) -> str:
    fields = f"totalCount {GUEST_FIELDS}" if total_count else GUEST_FIELDS
    return f"{{ guests(first: 100, {arguments}) {{ {fields} }} }}"


WEEK = 'tripDate: {from: "2026-12-07", to: "2026-12-13"}'
MONTH = 'tripDate: {from: "2026-12-01", to: "2026-12-31"}'


@dataclass(frozen=True, slots=True)
class Page:
    name: str
    document: str


PAGES = (
    Page("bookings, newest first, no count", BOOKINGS_PAGE),
    Page("guests, week, default sort", guests_page(f"filter: {{{WEEK}}}")),
    Page(
        "guests, week, trip start desc",
        guests_page(f"filter: {{{WEEK}}}, orderBy: {{field: TRIP_START, direction: DESC}}"),
    ),
    Page("guests, month, default sort", guests_page(f"filter: {{{MONTH}}}")),
    Page(
        "guests, month, default sort, no count",
        guests_page(f"filter: {{{MONTH}}}", total_count=False),
    ),
    Page(
        "guests, month, partners, trip start",
        guests_page(f"filter: {{{MONTH}, includePartners: true}}, orderBy: {{field: TRIP_START}}"),
    ),
    Page(
        "guests, week, booking date",
        guests_page(f"filter: {{{WEEK}}}, orderBy: {{field: BOOKING_DATE, direction: DESC}}"),
    ),
    Page("guests, no filter, trip start", guests_page("orderBy: {field: TRIP_START}")),
    Page(
        "guests, no filter, trip start, no count",
        guests_page("orderBy: {field: TRIP_START}", total_count=False),
    ),
    Page(
        "guests, one departure",
        guests_page("filter: {departure: $departure}"),
    ),
)


def sqlite_copy(size: int) -> Path:
    return ROOT / "bench" / "var" / f"growth-{size}-{RNG_SEED}.sqlite3"


def postgres_copy(size: int) -> str:
    return f"tourdesk_growth_{size}_{RNG_SEED}"


def database_url(backend: str, size: int) -> str:
    if backend == "sqlite":
        return f"sqlite://{sqlite_copy(size)}"
    return f"{POSTGRES_SERVER}/{postgres_copy(size)}"


def psql(command: str, database: str = "postgres") -> str:
    return subprocess.run(
        ["psql", f"{POSTGRES_SERVER}/{database}", "-tAqc", command],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def copy_sqlite(size: int, fresh: bool) -> None:
    target = sqlite_copy(size)
    if target.exists() and not fresh:
        return
    source = SEEDED_SQLITE / f"guests-{size}-{RNG_SEED}.sqlite3"
    if not source.exists():
        raise SystemExit(f"{source} is missing; seed it with `tourdesk seed --bookings {size}`.")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    # The backup API copies a consistent snapshot, WAL included, which `cp` of the file alone
    # would not.
    with sqlite3.connect(source) as reader, sqlite3.connect(target) as writer:
        reader.backup(writer)


def copy_postgres(size: int, fresh: bool) -> None:
    name = postgres_copy(size)
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if exists and not fresh:
        return
    if exists:
        psql(f'DROP DATABASE "{name}"')
    psql(f'CREATE DATABASE "{name}" TEMPLATE "tourdesk_bench_{size}_{RNG_SEED}"')


def prepare(backend: str, size: int, fresh: bool) -> str:
    """Copy the seeded database once, apply the migrations it lacks and return its URL."""
    if backend == "sqlite":
        copy_sqlite(size, fresh)
    else:
        copy_postgres(size, fresh)
    url = database_url(backend, size)
    environment = {**os.environ, "TOURDESK_DATABASE_URL": url, "TOURDESK_ENV": "development"}
    tourdesk = Path(sys.executable).parent / "tourdesk"
    subprocess.run(
        [str(tourdesk), "migrate"], check=True, cwd=ROOT, env=environment, capture_output=True
    )
    if backend == "postgres":
        # A database made from a template has no planner statistics and no visibility map
        # until autovacuum runs, so index-only scans would still read the table.
        psql("VACUUM ANALYZE", postgres_copy(size))
    return url


class StatementLog(logging.Handler):
    """Collect the SQL statements and parameters Tortoise sends, from its debug log."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            query, values = record.args
            if isinstance(query, str) and isinstance(values, list | tuple):
                self.statements.append((query, list(values)))


async def explain(query: str, values: list[Any], dialect: str) -> list[str]:
    from tortoise import connections

    connection = connections.get("default")
    if dialect == "sqlite":
        _, rows = await connection.execute_query(f"EXPLAIN QUERY PLAN {query}", values)
        return [f"{'  ' * _depth(rows, row)}{row['detail']}" for row in rows]
    _, rows = await connection.execute_query(f"EXPLAIN {query}", values)
    return [row["QUERY PLAN"] for row in rows]


def _depth(rows: list[Any], row: Any) -> int:
    """Return how deep a row of EXPLAIN QUERY PLAN sits, from its chain of parent ids."""
    parents = {r["id"]: r["parent"] for r in rows}
    depth = 0
    parent = row["parent"]
    while parent:
        depth += 1
        parent = parents.get(parent, 0)
    return depth


async def measure(url: str, runs: int, with_plans: bool) -> dict[str, Any]:
    """Run every page `runs` times as Alpine's admin, in a child process per database."""
    from tortoise import Tortoise

    from models.catalog import Departure
    from models.commands.auth import viewer_for_user
    from models.config import tortoise_config
    from models.users import User
    from schema.context import Context
    from schema.dataloaders import build_loaders
    from schema.relay import to_global_id
    from schema.schema import GuardRails, build_schema

    await Tortoise.init(config=tortoise_config(url))
    schema = build_schema(GuardRails(mask_unexpected_errors=False))
    admin = await User.get(email="admin@alpine.example")
    viewer = await viewer_for_user(admin.id)
    # A busy departure in the week the other filters ask for: its guest count does not depend
    # on how many departures the seed made.
    departure = (
        await Departure.filter(starts_on="2026-12-09", activity__organization_id=1)
        .order_by("starts_at", "id")
        .first()
    )
    if departure is None:
        raise SystemExit("the seed has no departure on 2026-12-09; seed with --anchor-date")
    departure_id = to_global_id("Departure", departure.id)

    async def run(document: str) -> tuple[float, float, dict[str, Any]]:
        document = document.replace("$departure", f'"{departure_id}"')
        context = Context(viewer=viewer, loaders=build_loaders(viewer), token=None, exports=None)
        started = time.perf_counter()
        started_cpu = time.process_time()
        result = await schema.execute(document, context_value=context)
        cpu = time.process_time() - started_cpu
        elapsed = time.perf_counter() - started
        if result.errors:
            raise SystemExit(f"{document}\nfailed: {result.errors}")
        return elapsed, cpu, result.data or {}

    dialect = Tortoise.get_connection("default").capabilities.dialect
    results: dict[str, Any] = {}
    for page in PAGES:
        for _ in range(WARMUP_RUNS):
            await run(page.document)
        times = []
        cpu_times = []
        for _ in range(runs):
            gc.collect()
            elapsed, cpu, data = await run(page.document)
            times.append(elapsed * 1000)
            cpu_times.append(cpu * 1000)
        connection = next(iter(data.values()))
        entry: dict[str, Any] = {
            "times_ms": times,
            "cpu_ms": cpu_times,
            "rows": len(connection["edges"]),
            "total_count": connection.get("totalCount"),
        }
        if with_plans:
            entry["plans"] = await _plans(run, page.document, dialect)
        results[page.name] = entry
    await Tortoise.close_connections()
    return results


async def _plans(run: Any, document: str, dialect: str) -> list[dict[str, Any]]:
    from tortoise import connections

    statement_log = StatementLog()
    client_logger = logging.getLogger("tortoise.db_client")
    client_logger.setLevel(logging.DEBUG)
    client_logger.addHandler(statement_log)
    try:
        await run(document)
    finally:
        client_logger.removeHandler(statement_log)
        client_logger.setLevel(logging.WARNING)
    plans = []
    for query, values in statement_log.statements:
        started = time.perf_counter()
        await connections.get("default").execute_query(query, values)
        milliseconds = (time.perf_counter() - started) * 1000
        plans.append(
            {
                "sql": query,
                "ms": milliseconds,
                "plan": await explain(query, values, dialect),
            }
        )
    return plans


def run_child(url: str, runs: int, with_plans: bool) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, __file__, "--child", url, "--runs", str(runs)]
        + (["--explain"] if with_plans else []),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if child.returncode != 0:
        raise SystemExit(f"measuring {url} failed:\n{child.stderr}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def report(backend: str, small: dict[str, Any], large: dict[str, Any], with_plans: bool) -> None:
    print(f"\n## {backend}\n")
    print(
        "| page | 10k ms | 1M ms | ratio | 10k CPU ms | 1M CPU ms | CPU ratio "
        "| totalCount 10k | totalCount 1M |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for page in PAGES:
        before, after = small[page.name], large[page.name]
        ratio = after["median_ms"] / before["median_ms"]
        cpu_ratio = after["median_cpu_ms"] / before["median_cpu_ms"]
        print(
            f"| {page.name} | {before['median_ms']:.1f} | {after['median_ms']:.1f} | "
            f"{ratio:.2f} | {before['median_cpu_ms']:.1f} | {after['median_cpu_ms']:.1f} | "
            f"{cpu_ratio:.2f} | {before['total_count'] or '-'} | {after['total_count'] or '-'} |"
        )
    if not with_plans:
        return
    for page in PAGES:
        print(f"\n### {backend}: {page.name}")
        for label, result in (("10k", small), ("1M", large)):
            for statement in result[page.name]["plans"]:
                print(f"\n[{label}, {statement['ms']:.1f} ms alone] {statement['sql']}")
                for line in statement["plan"]:
                    print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=15, help="Timed runs per page and size.")
    parser.add_argument(
        "--rounds", type=int, default=3, help="Rounds to split the runs into, sizes alternating."
    )
    parser.add_argument("--explain", action="store_true", help="Print the plan of each query.")
    parser.add_argument("--fresh", action="store_true", help="Copy the seeded databases again.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.child:
        result = asyncio.run(measure(arguments.child, arguments.runs, arguments.explain))
        print(json.dumps(result, default=str))
        return

    backends = ["sqlite", "postgres"] if arguments.backend == "both" else [arguments.backend]
    print(
        f"runs per page and size: {arguments.runs} in {arguments.rounds} rounds, "
        f"each after {WARMUP_RUNS} warm-up runs"
    )
    for backend in backends:
        urls = [prepare(backend, size, arguments.fresh) for size in SIZES]
        small, large = measure_in_rounds(urls, arguments.runs, arguments.rounds, arguments.explain)
        report(backend, small, large, arguments.explain)


def measure_in_rounds(
    urls: list[str], runs: int, rounds: int, with_plans: bool
) -> list[dict[str, Any]]:
    """Measure the databases in turns, round after round, and merge each one's times.

    Load from other processes on the machine then falls on both sizes alike.
    """
    merged: list[dict[str, Any]] = [{} for _ in urls]
    runs_per_round = max(1, runs // rounds)
    for round_number in range(rounds):
        last_round = round_number == rounds - 1
        for url, results in zip(urls, merged, strict=True):
            child = run_child(url, runs_per_round, with_plans and last_round)
            for name, entry in child.items():
                if name in results:
                    entry["times_ms"] = results[name]["times_ms"] + entry["times_ms"]
                    entry["cpu_ms"] = results[name]["cpu_ms"] + entry["cpu_ms"]
                results[name] = entry
    for results in merged:
        for entry in results.values():
            entry["median_ms"] = statistics.median(entry["times_ms"])
            entry["median_cpu_ms"] = statistics.median(entry["cpu_ms"])
    return merged


if __name__ == "__main__":
    main()
