"""The database, the server processes and their CPU time, for one load test run."""

import os
import resource
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOURDESK = Path(sys.executable).parent / "tourdesk"
# Every process of a run signs export URLs with this key; it only has to be the same everywhere.
SECRET_KEY = "load-benchmark-" + "k" * 32
STARTUP_SECONDS = 60


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
    """Start one `tourdesk serve --workers N` on a free port."""
    ports = [free_port()]
    how = f"tourdesk serve --workers {workers}" if workers > 1 else "tourdesk serve"
    processes = [start_server(url, work_dir, port, workers) for port in ports]
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
    # PostgreSQL's backends serving this run's database; 0 on SQLite, which runs in the servers.
    database: float
    machine_busy: float
    machine_total: float


def database_backend_pids(database: Database) -> list[int]:
    """Return the PostgreSQL backend processes connected to the run's database."""
    if not database.postgres_name:
        return []
    output = subprocess.run(
        [
            "psql",
            database.url,
            "-tAc",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database.postgres_name}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [int(pid) for pid in output.split()]


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    return {pid: cpu_seconds([pid]) for pid in pids}


@contextmanager
def measured_cpu(servers: Servers, database: Database) -> Iterator[list[CpuUse]]:
    """Measure wall, client, server and machine CPU time over the block; yields a list of one."""
    result: list[CpuUse] = []
    # Read here rather than at start-up, because `serve --workers` starts its worker processes
    # after the first one responds.
    server_pids = [pid for process in servers.processes for pid in process_tree(process.pid)]
    wall, client = time.perf_counter(), client_cpu_seconds()
    server_cpu = cpu_seconds(server_pids)
    backends = cpu_by_pid(database_backend_pids(database))
    busy, total = machine_busy_seconds()
    yield result
    busy_after, total_after = machine_busy_seconds()
    # A backend that connected during the block used all of its CPU time in it. One that
    # disconnected is missed, which is rare because the servers' connection pools stay open.
    backends_after = cpu_by_pid(database_backend_pids(database))
    result.append(
        CpuUse(
            wall=time.perf_counter() - wall,
            client=client_cpu_seconds() - client,
            servers=cpu_seconds(server_pids) - server_cpu,
            database=sum(cpu - backends.get(pid, 0) for pid, cpu in backends_after.items()),
            machine_busy=busy_after - busy,
            machine_total=total_after - total,
        )
    )
