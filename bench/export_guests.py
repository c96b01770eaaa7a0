"""Benchmark: export the guests list to CSV, against the database's own CSV tools.

    python bench/export_guests.py --backend sqlite --bookings 333000
    python bench/export_guests.py --backend postgres --bookings 333000
    python bench/export_guests.py --backend sqlite --database-url sqlite:///path/to/data.sqlite3

The data comes from `tourdesk seed --bookings N --seed S` (about three guests per booking) and is
kept between runs under bench/var/ or in the PostgreSQL database `tourdesk_bench_N_S`, unless
--database-url names an existing seeded database. Each export runs in a fresh child process that
reports rows per second and its peak memory above its own idle size after connecting.

Two references run through the `sqlite3` command-line tool or psql, timed over the same number
of runs: the 18-column statement that tourdesk builds for this export (the same cells, with the
organization's zone set for PostgreSQL), and a plain join of seven columns.
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POSTGRES_SERVER = os.environ.get(
    "TOURDESK_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"
)

REFERENCE_SQL = (
    "SELECT b.reference, d.starts_at, a.name, g.first_name, g.last_name, g.category, b.status "
    "FROM guest g JOIN booking b ON b.id = g.booking_id "
    "JOIN departure d ON d.id = b.departure_id JOIN activity a ON a.id = d.activity_id "
    "ORDER BY d.starts_at, g.id"
)


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def database_url(backend: str, bookings: int, seed: int) -> str:
    if backend == "sqlite":
        path = ROOT / "bench" / "var" / f"guests-{bookings}-{seed}.sqlite3"
        return f"sqlite://{path}"
    return f"{POSTGRES_SERVER}/tourdesk_bench_{bookings}_{seed}"


def run_tourdesk(url: str, *arguments: str) -> None:
    environment = {**os.environ, "TOURDESK_DATABASE_URL": url, "TOURDESK_ENV": "development"}
    tourdesk = Path(sys.executable).parent / "tourdesk"
    subprocess.run([str(tourdesk), *arguments], check=True, cwd=ROOT, env=environment)


def prepare(backend: str, bookings: int, seed: int) -> str:
    """Create and seed the benchmark database once; later runs reuse it."""
    url = database_url(backend, bookings, seed)
    if backend == "sqlite":
        path = Path(url.removeprefix("sqlite://"))
        if path.exists():
            return url
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        name = url.rsplit("/", 1)[1]
        exists = subprocess.run(
            [
                "psql",
                POSTGRES_SERVER + "/postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname='{name}'",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if exists:
            return url
        subprocess.run(
            ["psql", POSTGRES_SERVER + "/postgres", "-qc", f'CREATE DATABASE "{name}"'], check=True
        )
    run_tourdesk(url, "migrate")
    run_tourdesk(
        url, "seed", "--bookings", str(bookings), "--seed", str(seed), "--anchor-date", "2026-12-01"
    )
    return url


async def alpine_admin() -> Any:
    from models.commands.auth import viewer_for_user
    from models.enums import Role
    from models.users import User

    admin = await User.get(email="admin@alpine.example")
    viewer = await viewer_for_user(admin.id)
    if viewer is None or Role.ADMIN not in viewer.roles:
        raise SystemExit("admin@alpine.example is missing; seed the database again")
    return viewer


def sql_literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise SystemExit(f"Cannot write the parameter {value!r} into the reference statement.")


async def export_statement_script(url: str) -> str:
    """Return a script that runs tourdesk's statement for the benchmark export in the tool."""
    from tortoise import Tortoise

    from api.exports.csv_sql import Dialect, export_statement
    from api.exports.jobs import export_source
    from models.config import tortoise_config
    from models.queries.bookings import BookingFilter
    from models.queries.guests import GuestFilter

    await Tortoise.init(config=tortoise_config(url))
    viewer = await alpine_admin()
    layout, source = await export_source(
        viewer, GuestFilter(booking=BookingFilter(include_partners=True))
    )
    dialect: Dialect = "sqlite" if url.startswith("sqlite") else "postgres"
    sql = export_statement(layout, source, dialect)
    await Tortoise.close_connections()

    if dialect == "sqlite":
        for parameter in source.parameters:
            sql = sql.replace("?", sql_literal(parameter), 1)
        return sql + ";\n"
    for number in range(len(source.parameters), 0, -1):
        sql = sql.replace(f"${number}", sql_literal(source.parameters[number - 1]))
    zone = sql_literal(viewer.time_zone)
    return f"SET TimeZone = {zone};\nCOPY ({sql}) TO STDOUT WITH (FORMAT csv);\n"


async def measure_export(url: str) -> dict[str, float]:
    """Export alpine's guests, partners included, as its admin; runs in a child process."""
    from tortoise import Tortoise

    from api.exports.jobs import write_csv
    from models.commands.exports import ExportOptions
    from models.config import tortoise_config
    from models.queries.bookings import BookingFilter
    from models.queries.guests import GuestFilter

    await Tortoise.init(config=tortoise_config(url))
    viewer = await alpine_admin()
    idle = rss_kib()

    async def ignore_progress(written: int, expected: int | None) -> None:
        return None

    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as stream:
        started = time.perf_counter()
        rows = await write_csv(
            viewer,
            GuestFilter(booking=BookingFilter(include_partners=True)),
            ExportOptions(),
            stream,
            ignore_progress,
        )
        seconds = time.perf_counter() - started
        size = stream.tell()
    await Tortoise.close_connections()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "peak_mib_above_idle": (peak - idle) / 1024,
        "megabytes": size / 1e6,
    }


def reference_seconds(backend: str, url: str) -> float:
    """Time the seven-column join through the database's own tool."""
    started = time.perf_counter()
    if backend == "sqlite":
        path = url.removeprefix("sqlite://")
        with open(os.devnull, "w") as sink:
            subprocess.run(["sqlite3", "-csv", path, REFERENCE_SQL], stdout=sink, check=True)
    else:
        copy = f"\\copy ({REFERENCE_SQL}) TO '/dev/null' WITH (FORMAT csv, HEADER)"
        subprocess.run(
            ["psql", url.replace("postgres://", "postgresql://", 1), "-qc", copy], check=True
        )
    return time.perf_counter() - started


def statement_seconds(backend: str, url: str, script: Path) -> float:
    """Time tourdesk's own statement, all 18 columns, through the database's own tool."""
    started = time.perf_counter()
    with open(os.devnull, "w") as sink, script.open() as commands:
        if backend == "sqlite":
            path = url.removeprefix("sqlite://")
            subprocess.run(["sqlite3", "-csv", path], stdin=commands, stdout=sink, check=True)
        else:
            target = url.replace("postgres://", "postgresql://", 1)
            subprocess.run(
                ["psql", target, "-q", "-v", "ON_ERROR_STOP=1"],
                stdin=commands,
                stdout=sink,
                check=True,
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--bookings", type=int, default=333_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--database-url",
        help="an existing seeded database to export from, such as sqlite:///data.sqlite3",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--statement", help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.child:
        print(json.dumps(asyncio.run(measure_export(arguments.child))))
        return
    if arguments.statement:
        print(asyncio.run(export_statement_script(arguments.statement)), end="")
        return

    url = arguments.database_url or prepare(arguments.backend, arguments.bookings, arguments.seed)
    script = child_output(["--statement", url])
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as statement_file:
        statement_file.write(script)
        statement_file.flush()
        results, statements, references = [], [], []
        for _ in range(arguments.runs):
            results.append(json.loads(child_output(["--child", url]).strip().splitlines()[-1]))
            statements.append(statement_seconds(arguments.backend, url, Path(statement_file.name)))
            references.append(reference_seconds(arguments.backend, url))
    report(arguments.backend, arguments.runs, results, statements, references)


def child_output(arguments: list[str]) -> str:
    return subprocess.run(
        [sys.executable, __file__, *arguments], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout


def report(
    backend: str,
    runs: int,
    results: list[dict[str, float]],
    statements: list[float],
    references: list[float],
) -> None:
    rows = results[0]["rows"]
    rate = statistics.median(r["rows_per_second"] for r in results)
    tool = "sqlite3 CLI" if backend == "sqlite" else "psql"
    print(f"backend: {backend}, rows: {rows}, runs: {runs}")
    print(f"tourdesk export: median {rate:,.0f} rows/s, file {results[0]['megabytes']:.0f} MB")
    print("  runs:", ", ".join(f"{r['rows_per_second']:,.0f}" for r in results))
    peaks = [r["peak_mib_above_idle"] for r in results]
    print(
        f"peak memory above idle: median {statistics.median(peaks):.1f} MiB, "
        f"max {max(peaks):.1f} MiB"
    )
    for name, seconds in (
        ("same 18-column statement", statements),
        ("7-column join", references),
    ):
        reference_rate = rows / statistics.median(seconds)
        print(
            f"{tool}, {name}: median {reference_rate:,.0f} rows/s; "
            f"tourdesk / reference = {rate / reference_rate:.2f}"
        )
        print("  runs:", ", ".join(f"{rows / second:,.0f}" for second in seconds))


if __name__ == "__main__":
    main()
