"""Benchmark: export the guests list to CSV, against the database's own CSV tools.

    python bench/export_guests.py --backend sqlite --bookings 333000
    python bench/export_guests.py --backend postgres --bookings 333000

The data comes from `tourdesk seed --bookings N --seed S` (about three guests per booking) and is
kept between runs under bench/var/ or in the PostgreSQL database `tourdesk_bench_N_S`. Each export
runs in a fresh child process that reports rows per second and its peak memory above its own
idle size after connecting. The reference runs the same join of the same seven columns through
the `sqlite3` command-line tool or `psql \\copy`, timed over the same number of runs.
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


async def measure_export(url: str) -> dict[str, float]:
    """Export alpine's guests, partners included, as its admin; runs in a child process."""
    from tortoise import Tortoise

    from api.exports.jobs import write_csv
    from models.commands.auth import viewer_for_user
    from models.commands.exports import ExportOptions
    from models.config import tortoise_config
    from models.enums import Role
    from models.queries.bookings import BookingFilter
    from models.queries.guests import GuestFilter
    from models.users import User

    await Tortoise.init(config=tortoise_config(url))
    admin = await User.get(email="admin@alpine.example")
    viewer = await viewer_for_user(admin.id)
    if viewer is None or Role.ADMIN not in viewer.roles:
        raise SystemExit("admin@alpine.example is missing; seed the database again")
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--bookings", type=int, default=333_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.child:
        print(json.dumps(asyncio.run(measure_export(arguments.child))))
        return

    url = prepare(arguments.backend, arguments.bookings, arguments.seed)
    results = []
    references = []
    for _ in range(arguments.runs):
        output = subprocess.run(
            [sys.executable, __file__, "--child", url],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
        references.append(reference_seconds(arguments.backend, url))

    rows = results[0]["rows"]
    rate = statistics.median(r["rows_per_second"] for r in results)
    reference_rate = rows / statistics.median(references)
    tool = "sqlite3 CLI" if arguments.backend == "sqlite" else "psql \\copy"
    print(f"backend: {arguments.backend}, rows: {rows}, runs: {arguments.runs}")
    print(f"tourdesk export: median {rate:,.0f} rows/s, file {results[0]['megabytes']:.0f} MB")
    peaks = [r["peak_mib_above_idle"] for r in results]
    print(
        f"peak memory above idle: median {statistics.median(peaks):.1f} MiB, "
        f"max {max(peaks):.1f} MiB"
    )
    ratio = rate / reference_rate
    print(f"{tool}: median {reference_rate:,.0f} rows/s; tourdesk / reference = {ratio:.2f}")


if __name__ == "__main__":
    main()
