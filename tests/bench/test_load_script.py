"""bench/load.py, run for a few seconds on a tiny seed, so the script keeps working."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import BACKEND, POSTGRES_URL

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "load.py"
BOOKINGS = 60
# At least one client per kind of operation, because each client starts with another kind.
CLIENTS = 8


def postgres_server() -> str:
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


@pytest.fixture(scope="module")
def load_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the load test on the backend under test and return the process and its JSON results."""
    results = tmp_path_factory.mktemp("load") / "results.json"
    command = [
        sys.executable,
        str(SCRIPT),
        f"--backend={BACKEND}",
        f"--bookings={BOOKINGS}",
        f"--clients={CLIENTS}",
        "--duration=2",
        "--workers=1",
        f"--json={results}",
    ]
    if BACKEND == "postgres":
        command.append(f"--postgres-server={postgres_server()}")
    completed = subprocess.run(  # noqa: S603 (runs this project's own script)
        command, capture_output=True, text=True, timeout=120, check=False
    )
    return completed, json.loads(results.read_text()) if results.exists() else {}


def test_load_script_exits_zero(load_run):
    completed, _ = load_run

    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize(
    "operation",
    [
        "guests",
        "customers",
        "users",
        "bookings page",
        "createBooking",
        "createBooking (invalid)",
        "createExport",
        "export download",
        "export (end to end)",
    ],
)
def test_load_script_runs_operation(load_run, operation):
    _, results = load_run
    rows = {row["operation"]: row for row in results["operations"]}

    assert rows[operation]["requests"] > 0
    assert rows[operation]["unexpected_errors"] == {}


def test_load_script_rejects_invalid_bookings_as_expected(load_run):
    _, results = load_run
    rows = {row["operation"]: row for row in results["operations"]}

    assert set(rows["createBooking (invalid)"]["expected_errors"]) == {
        "user error INVALID",
        "user error REQUIRED",
    }


def test_load_script_booking_count_matches(load_run):
    _, results = load_run
    check = results["booking_check"]

    assert check["seeded"] == BOOKINGS
    assert check["created"] > 0
    assert check["counted"] == BOOKINGS + check["created"]
