"""Benchmark: a nested page of 100 bookings over HTTP, against PostGraphile 4.

    python bench/http_page.py --backend postgres --bookings 4300
    python bench/http_page.py --backend sqlite --bookings 4300 --duration 20

One `tourdesk serve` process answers 20 concurrent clients (`--connections`) over loopback,
signed in as Alpine's admin: the 100 newest bookings of the organization with their buyer, guests,
departure and activity. `{ __typename }` on the same server shows what a request costs without
the page: HTTP, the token check and GraphQL.
On PostgreSQL, PostGraphile 4 (installed from bench/postgraphile with `npm ci`) serves the same
database and is asked for the same 100 bookings, in the same order, with the same fields. It runs
without authentication or row-level security, so it does none of the permission checks tourdesk
does on each field.

The load comes from `wrk` (a C program, so the client takes little of the CPU the servers need).
The script reports requests per second, the 50th and 99th percentile latency, and the CPU time the
server process (and, on PostgreSQL, the database backends) used per request, read from
/proc/PID/stat before and after each run.

The database comes from `tourdesk seed --bookings N --seed S`, as for bench/export_guests.py. Each
run works on a copy (a file copy, or `CREATE DATABASE ... TEMPLATE`), because signing in writes a
token and the seeded data stays as it was.
"""

import argparse
import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from export_guests import POSTGRES_SERVER, prepare

ROOT = Path(__file__).resolve().parents[1]
POSTGRAPHILE_DIR = ROOT / "bench" / "postgraphile"
POSTGRAPHILE = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "postgraphile"
ADMIN_EMAIL = "admin@alpine.example"
ADMIN_PASSWORD = "tourdesk-demo"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

SIGN_IN = """
mutation SignIn($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code message } }
}
"""

# The page of bench/nested_page.py, as a back-office bookings screen asks for it: 8 booking
# fields, 7 buyer fields, 8 fields of each guest, 5 departure fields and 3 activity fields.
TOURDESK_PAGE = """
query BookingsPage {
  bookings(first: 100) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id reference status channel createdAt cancelledAt total { amount currency }
      buyer { firstName lastName email phone country language marketingConsent }
      guests { id firstName lastName email phone category checkedInAt checkedIn }
      departure {
        id startsAt endsAt tripDate capacity
        activity { id name description }
      }
    }
  }
}
"""

TYPENAME = "{ __typename }"

# The same rows and fields in PostGraphile's generated schema. tourdesk lists an organization's
# own sales newest first, with the id breaking ties, and each booking's guests by position; the
# organization is a condition here because PostGraphile has no viewer. `checkedIn` is derived
# from `checkedInAt` in tourdesk and `tripDate` is `startsOn`, which the table stores.
POSTGRAPHILE_PAGE = """
query BookingsPage($seller: Int!) {
  allBookings(first: 100, condition: {sellerId: $seller}, orderBy: [CREATED_AT_DESC, ID_DESC]) {
    pageInfo { hasNextPage endCursor }
    nodes {
      nodeId reference status channel createdAt cancelledAt totalAmount currency
      buyerByBookingId { firstName lastName email phone country language marketingConsent }
      guestsByBookingId(orderBy: [POSITION_ASC, ID_ASC]) {
        nodes { nodeId firstName lastName email phone category checkedInAt position }
      }
      departureByDepartureId {
        nodeId startsAt endsAt startsOn capacity
        activityByActivityId { nodeId name description }
      }
    }
  }
}
"""

# wrk loads this script into each of its threads, so every request is the same POST. It calls
# `done` once at the end, which prints one JSON line for load() to read. Latencies are in
# microseconds, and `errors.status` counts responses with a status of 400 or more.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{authorization}
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{{"requests": %d, "seconds": %f, "p50_us": %d, "p99_us": %d, "errors": %d}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.status + errors.timeout))
end
"""


@dataclass
class Server:
    name: str
    pid: int
    url: str


@dataclass
class Result:
    target: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float
    database_cpu_ms: float | None
    requests: int


# ----------------------------------------------------------------------------------------------
# Databases


def sqlite_copy(source: Path, directory: Path) -> str:
    """Copy the seeded file through SQLite's backup API, which also takes what is in its WAL."""
    target = directory / "page.sqlite3"
    with (
        sqlite3.connect(f"file:{source}?mode=ro", uri=True) as reader,
        sqlite3.connect(target) as writer,
    ):
        reader.backup(writer)
    return f"sqlite://{target}"


@contextmanager
def database_copy(backend: str, seeded_url: str, directory: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield sqlite_copy(Path(seeded_url.removeprefix("sqlite://")), directory)
        return

    template = seeded_url.rsplit("/", 1)[1]
    name = f"httpbench_{template}_{os.getpid()}"
    psql("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}"
    finally:
        psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def psql(database: str, sql: str) -> str:
    completed = subprocess.run(
        ["psql", f"{POSTGRES_SERVER}/{database}", "-tAqc", sql],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"psql failed on {database!r} running {sql!r}: {completed.stderr.strip()}")
    return completed.stdout.strip()


def database_backend_pids(database: str) -> list[int]:
    rows = psql("postgres", f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'")
    return [int(pid) for pid in rows.split()]


# ----------------------------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(server: Server, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{server.name} exited with {process.returncode}; see {log}")
        try:
            post(server.url, TYPENAME)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"{server.name} did not respond on {server.url} within 60 s; see {log}")


@contextmanager
def running(
    name: str, command: list[str], environment: dict[str, str], log: Path
) -> Iterator[Server]:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=environment, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(name=name, pid=process.pid, url=f"http://127.0.0.1:{port}/graphql")
    try:
        wait_until_listening(server, process, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tourdesk_server() -> list[str]:
    tourdesk = str(Path(sys.executable).parent / "tourdesk")
    return [tourdesk, "serve", "--host", "127.0.0.1", "--port", "{port}"]


def tourdesk_environment(database_url: str, directory: Path) -> dict[str, str]:
    return {
        **os.environ,
        "TOURDESK_ENV": "production",
        "TOURDESK_SECRET_KEY": secrets.token_urlsafe(32),
        "TOURDESK_DATABASE_URL": database_url,
        "TOURDESK_EXPORT_DIR": str(directory / "exports"),
    }


def postgraphile_server(database_url: str) -> list[str]:
    if not POSTGRAPHILE.exists():
        raise SystemExit(
            f"{POSTGRAPHILE} is missing; install it with `npm ci --prefix {POSTGRAPHILE_DIR}`."
        )
    return [
        str(POSTGRAPHILE),
        "--connection",
        database_url,
        "--schema",
        "public",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--disable-query-log",
    ]


# ----------------------------------------------------------------------------------------------
# Requests


def post(url: str, query: str, variables: dict[str, object] | None = None, token: str = "") -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    # The URL is always the loopback address of a server this script started.
    request = urllib.request.Request(url, data=body, headers=headers(token), method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def headers(token: str) -> dict[str, str]:
    if token:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return {"Content-Type": "application/json"}


def sign_in(server: Server) -> str:
    answer = post(server.url, SIGN_IN, {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    login = answer.get("data", {}).get("login") or {}
    if not login.get("token"):
        raise SystemExit(f"Signing in as {ADMIN_EMAIL} failed: {answer}; seed the database again.")
    return str(login["token"])


def page_references(
    server: Server, query: str, variables: dict[str, object], token: str, field: str
) -> list[str]:
    """Ask for the page once and return its booking references, failing on any GraphQL error."""
    answer = post(server.url, query, variables, token)
    if answer.get("errors"):
        raise SystemExit(f"{server.name} returned the page with errors: {answer['errors'][:3]}")
    nodes = answer["data"][field]["nodes"]
    if len(nodes) != 100:
        raise SystemExit(f"{server.name} returned {len(nodes)} bookings; expected 100.")
    return [node["reference"] for node in nodes]


def cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        # utime and stime are fields 14 and 15 of the stat line; the split starts at field 3.
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def load(
    server: Server,
    target: str,
    document: str,
    arguments: argparse.Namespace,
    token: str = "",
    variables: dict[str, object] | None = None,
    database: str | None = None,
    profile: Path | None = None,
) -> Result:
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    body = json.dumps({"query": document, "variables": variables or {}})
    authorization = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script.write_text(WRK_SCRIPT.format(body=lua_string(body), authorization=authorization))
    try:
        command = [
            "wrk",
            "--threads",
            "1",
            "--connections",
            str(arguments.connections),
            "--duration",
            f"{arguments.warmup}s",
            "--timeout",
            "30s",
            "--script",
            str(script),
            server.url,
        ]
        subprocess.run(command, capture_output=True, check=True)
        command[6] = f"{arguments.duration}s"

        database_pids = database_backend_pids(database) if database else []
        server_before, database_before = cpu_seconds([server.pid]), cpu_seconds(database_pids)
        with profiling(server, profile, arguments.duration):
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        server_after, database_after = cpu_seconds([server.pid]), cpu_seconds(database_pids)
    finally:
        script.unlink()

    summary = json.loads(output.strip().splitlines()[-1])
    if summary["errors"]:
        raise SystemExit(f"{target}: {summary['errors']} failed requests; wrk output:\n{output}")
    requests = summary["requests"]
    return Result(
        target=target,
        requests_per_second=requests / summary["seconds"],
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        server_cpu_ms=(server_after - server_before) * 1000 / requests,
        database_cpu_ms=(database_after - database_before) * 1000 / requests if database else None,
        requests=requests,
    )


@contextmanager
def profiling(server: Server, profile: Path | None, seconds: int) -> Iterator[None]:
    """Sample the server with py-spy while the load runs: a flame graph, or collapsed stacks
    when the file name ends in .txt."""
    if profile is None:
        yield
        return

    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        raise SystemExit(
            f"{py_spy} is missing; install it with `{sys.executable} -m pip install py-spy`."
        )
    file_format = "raw" if profile.suffix == ".txt" else "flamegraph"
    command = [str(py_spy), "record", "--pid", str(server.pid), "--duration", str(seconds)]
    command += ["--format", file_format, "--output", str(profile), "--nonblocking"]
    sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        sampler.wait()


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


# ----------------------------------------------------------------------------------------------
# Runs


def measure_tourdesk(
    database_url: str, directory: Path, arguments: argparse.Namespace
) -> tuple[list[Result], list[str]]:
    """Measure the page and `{ __typename }`; also return the page's booking references."""
    database = database_url.rsplit("/", 1)[1] if database_url.startswith("postgres") else None
    command = tourdesk_server()
    environment = tourdesk_environment(database_url, directory)
    with running("tourdesk", command, environment, directory / "tourdesk.log") as server:
        token = sign_in(server)
        references = page_references(server, TOURDESK_PAGE, {}, token, "bookings")
        page = load(
            server,
            "tourdesk page",
            TOURDESK_PAGE,
            arguments,
            token,
            database=database,
            profile=arguments.profile,
        )
        typename = load(server, "tourdesk { __typename }", TYPENAME, arguments, token)
    return [page, typename], references


def measure_postgraphile(
    database_url: str, directory: Path, arguments: argparse.Namespace, expected: list[str]
) -> Result:
    database = database_url.rsplit("/", 1)[1]
    seller = int(
        psql(database, f"SELECT organization_id FROM app_user WHERE email = '{ADMIN_EMAIL}'")
    )
    variables: dict[str, object] = {"seller": seller}
    command = postgraphile_server(database_url)
    with running(
        "PostGraphile", command, dict(os.environ), directory / "postgraphile.log"
    ) as server:
        references = page_references(server, POSTGRAPHILE_PAGE, variables, "", "allBookings")
        if references != expected:
            raise SystemExit("PostGraphile returned other bookings than tourdesk; check the query.")
        return load(
            server, "PostGraphile page", POSTGRAPHILE_PAGE, arguments, "", variables, database
        )


def versions(backend: str) -> str:
    from importlib.metadata import version

    parts = [
        f"Python {sys.version.split()[0]}",
        f"strawberry-graphql {version('strawberry-graphql')}",
        f"tortoise-orm {version('tortoise-orm')}",
        f"uvicorn {version('uvicorn')}",
        f"wrk {wrk_version()}",
    ]
    if backend == "postgres":
        parts.append(f"PostgreSQL {psql('postgres', 'SHOW server_version')}")
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
        package = json.loads(
            (POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "package.json").read_text()
        )
        parts += [f"node {node.strip()}", f"postgraphile {package['version']}"]
    else:
        parts.append(f"SQLite {sqlite3.sqlite_version}")
    return ", ".join(parts)


def wrk_version() -> str:
    # `wrk -v` prints its version line and exits with status 1.
    output = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return output.split()[1] if output else "unknown"


def print_table(results: list[Result]) -> None:
    # The last column is the rate the server could reach with one core to itself. The machine is
    # shared, so the measured rate also depends on what else runs.
    columns = ["target", "requests/s", "p50 ms", "p99 ms", "server CPU ms/request"]
    columns += ["database CPU ms/request", "1000 / server CPU ms"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for result in results:
        database = "" if result.database_cpu_ms is None else f"{result.database_cpu_ms:.1f}"
        print(
            f"| {result.target} | {result.requests_per_second:.1f} | {result.p50_ms:.0f} | "
            f"{result.p99_ms:.0f} | {result.server_cpu_ms:.1f} | {database} | "
            f"{1000 / max(result.server_cpu_ms, 0.001):.0f} |"
        )
    pages = {result.target: result for result in results}
    if "PostGraphile page" in pages:
        ratio = (
            pages["tourdesk page"].requests_per_second
            / pages["PostGraphile page"].requests_per_second
        )
        print(f"\ntourdesk / PostGraphile requests per second: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--bookings", type=int, default=4300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--connections", type=int, default=20, help="Concurrent clients.")
    parser.add_argument("--duration", type=int, default=30, help="Seconds of each measured run.")
    parser.add_argument("--warmup", type=int, default=5, help="Seconds of load before each run.")
    parser.add_argument(
        "--profile",
        type=Path,
        help="Write a py-spy profile of tourdesk under the page load to this file "
        "(an SVG flame graph, or collapsed stacks for a .txt name). Sampling slows the server.",
    )
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing; install it with `apt-get install wrk`.")

    seeded_url = prepare(arguments.backend, arguments.bookings, arguments.seed)
    load_before = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="tourdesk-http-page-") as temporary,
        database_copy(arguments.backend, seeded_url, Path(temporary)) as database_url,
    ):
        directory = Path(temporary)
        results, references = measure_tourdesk(database_url, directory, arguments)
        if arguments.backend == "postgres":
            results.append(measure_postgraphile(database_url, directory, arguments, references))

    print(
        f"backend: {arguments.backend}, bookings seeded: {arguments.bookings}, "
        f"clients: {arguments.connections}, {arguments.duration} s per run"
    )
    print(versions(arguments.backend))
    # Other processes take CPU from the servers and from wrk, so print how busy the machine was.
    print(f"load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print_table(results)


if __name__ == "__main__":
    main()
