"""Faults for the fault tests: stopping PostgreSQL, signing in, and GraphQL over HTTP."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from models.commands.auth import sign_in
from models.users import User
from tests.conftest import BACKEND
from tests.factories import PASSWORD

# The PostgreSQL cluster of TOURDESK_TEST_POSTGRES_URL, as `pg_ctlcluster` names it.
POSTGRES_CLUSTER = os.environ.get("TOURDESK_TEST_POSTGRES_CLUSTER", "15 main").split()
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def require_postgres() -> None:
    if BACKEND != "postgres":
        pytest.skip("This fault concerns PostgreSQL connections; it runs in the PostgreSQL pass.")


def require_postgres_control() -> None:
    """Skip unless this process can stop and start the PostgreSQL cluster of the tests."""
    require_postgres()
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("pg_ctlcluster is not installed, so the test cannot restart PostgreSQL.")
    status = _pg_ctlcluster("status")
    if status.returncode != 0:
        pytest.skip(
            f"pg_ctlcluster cannot control the cluster {' '.join(POSTGRES_CLUSTER)} "
            f"(set TOURDESK_TEST_POSTGRES_CLUSTER to `VERSION NAME`): {status.stderr.strip()}"
        )


def _pg_ctlcluster(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (the cluster of this machine's test database)
        ["pg_ctlcluster", "--skip-systemctl-redirect", *POSTGRES_CLUSTER, action],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_postgres() -> None:
    """Start the cluster and wait until it accepts connections; a running cluster is left alone."""
    if _pg_ctlcluster("status").returncode == 0:
        return
    started = _pg_ctlcluster("start")
    if started.returncode != 0 and _pg_ctlcluster("status").returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start again: {started.stderr.strip()}")


@contextmanager
def postgres_stopped() -> Iterator[None]:
    """Stop PostgreSQL (fast mode: sessions are terminated) for the block, then start it again."""
    try:
        stopped = _pg_ctlcluster("stop")
        if stopped.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not stop: {stopped.stderr.strip()}")
        yield
    finally:
        start_postgres()


async def bearer_headers(user: User) -> dict[str, str]:
    signed_in = await sign_in(user.email, PASSWORD, token_ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {signed_in.token}"}


def error_codes(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    return [
        str((error.get("extensions") or {}).get("code", ""))
        for error in body.get("errors") or []
        if isinstance(error, dict)
    ]


def response_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
