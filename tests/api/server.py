"""The real server: `tourdesk serve` in its own process on a free loopback port."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_SECONDS = 30
SECRET_KEY = "k" * 40


@dataclass(frozen=True)
class Server:
    base_url: str
    # Everything the process wrote to stdout and stderr, its log lines included.
    log_file: Path
    # The `tourdesk serve` process; with --workers, the parent of the worker processes.
    process: subprocess.Popen[bytes]

    @property
    def graphql_ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://", 1) + "/graphql"

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"The server exited with code {server.returncode} while starting")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"The server did not answer on {base_url} within {STARTUP_SECONDS} s")


@contextmanager
def running_server(
    database_url: str, work_dir: Path, *, args: Sequence[str] = (), **settings: str
) -> Iterator[Server]:
    """Serve `database_url` until the block ends; `settings` are extra TOURDESK_* variables."""
    with running_servers(database_url, work_dir, count=1, args=args, **settings) as servers:
        yield servers[0]


@contextmanager
def running_servers(
    database_url: str, work_dir: Path, *, count: int, args: Sequence[str] = (), **settings: str
) -> Iterator[list[Server]]:
    """Serve `database_url` from `count` processes on their own ports until the block ends.

    They share the working directory, so the export folder and the secret key too, as the
    processes of one deployment do. Each writes its own log file.
    """
    with ExitStack() as stack:
        started = [
            stack.enter_context(_started(database_url, work_dir, args, settings))
            for _ in range(count)
        ]
        # Started together and waited for in turn, so the processes boot side by side.
        for server, process in started:
            wait_until_ready(server.base_url, process)
        yield [server for server, _ in started]


@contextmanager
def _started(
    database_url: str, work_dir: Path, args: Sequence[str], settings: dict[str, str]
) -> Iterator[tuple[Server, subprocess.Popen[bytes]]]:
    port = free_port()
    environment = {
        **os.environ,
        "TOURDESK_ENV": "development",
        "TOURDESK_DATABASE_URL": database_url,
        "TOURDESK_EXPORT_DIR": str(work_dir / "exports"),
        "TOURDESK_SECRET_KEY": SECRET_KEY,
        # Log lines reach the file as they are written, so a test can read them at once.
        "PYTHONUNBUFFERED": "1",
        **settings,
    }
    log_file = work_dir / f"server-{port}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (starts this project's own server)
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args],
            env=environment,
            cwd=work_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            # A process group of its own, so worker processes of `--workers` are stopped too.
            start_new_session=True,
        )
        try:
            server = Server(base_url=f"http://127.0.0.1:{port}", log_file=log_file, process=process)
            yield server, process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server as an operator would, then kill whatever of its group is left."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
