"""JSON log lines: request id and operation name on each, and no secrets or personal data."""

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from api import logs
from models.enums import Role
from tests.api.app_client import app_client, sign_in_over_http
from tests.api.server import Server, running_server
from tests.factories import PASSWORD, World, add_booking

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } }
}
"""

GUESTS = """
query Guests($search: String!) {
  guests(first: 10, filter: {search: $search}) { nodes { firstName lastName email } }
}
"""

EXPORT_GUESTS = """
mutation ExportGuests($search: String!) {
  createExport(input: {list: GUESTS, filter: {search: $search}}) {
    export { id status url }
    errors { code }
  }
}
"""

EXPORT_UPDATED = "subscription ($id: ID!) { exportUpdated(id: $id) { status } }"

WRONG_PASSWORD = "not-the-password-4711"
GUESTS_ON_BOOKING = [("Ottilie", "Quastenberg"), ("Fridolin", "Zwetschgenbaum")]
BUYER_EMAIL = "ottilie.quastenberg@example.org"


@pytest.fixture
def json_log(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Collect the INFO and higher log lines of the test as the server would write them."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def entries(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_line_has_request_context():
    record = logging.LogRecord("api.test", logging.INFO, __file__, 1, "Export %s done", (7,), None)
    request_token = logs.request_id.set("req-1")
    operation_token = logs.operation_name.set("ExportGuests")
    try:
        line = logs.JsonFormatter().format(record)
    finally:
        logs.operation_name.reset(operation_token)
        logs.request_id.reset(request_token)

    entry = json.loads(line)
    assert entry["message"] == "Export 7 done"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "api.test"
    assert entry["request_id"] == "req-1"
    assert entry["operation"] == "ExportGuests"
    assert entry["time"].endswith("+00:00")


def test_json_line_drops_query_string_of_uvicorn_path():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/exports/1/download?signature=abc", "1.1", 200),
        None,
    )

    entry = json.loads(logs.JsonFormatter().format(record))

    assert entry["message"] == '127.0.0.1:5000 - "GET /exports/1/download HTTP/1.1" 200'


async def test_request_lines_carry_request_id_and_operation(
    world: World, db: str, tmp_path: Path, json_log: io.StringIO
):
    admin = world.user("alpine", Role.ADMIN)

    async with app_client(db, tmp_path) as client:
        response = await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": admin.email, "password": PASSWORD}},
        )

    signed_in = [entry for entry in entries(json_log.getvalue()) if "signed in" in entry["message"]]
    assert len(signed_in) == 1
    assert signed_in[0]["request_id"] == response.headers["x-request-id"]
    assert signed_in[0]["operation"] == "Login"


async def test_safe_request_id_header_is_echoed(db: str, tmp_path: Path):
    async with app_client(db, tmp_path) as client:
        response = await client.get("/healthz", headers={"X-Request-ID": "3f2a-proxy.id:7"})

    assert response.headers["x-request-id"] == "3f2a-proxy.id:7"


@pytest.mark.parametrize(
    "received",
    ["two words", "line\\nbreak", "x" * 129, None],
    ids=["space", "backslash", "too-long", "missing"],
)
async def test_unsafe_request_id_is_replaced(db: str, tmp_path: Path, received: str | None):
    headers = {"X-Request-ID": received} if received is not None else {}

    async with app_client(db, tmp_path) as client:
        response = await client.get("/healthz", headers=headers)

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


@pytest.fixture
def server(db: str, tmp_path: Path) -> Iterator[Server]:
    with running_server(db, tmp_path) as running:
        yield running


async def subscribe_once(server: Server, token: str, export_id: str) -> None:
    transport = WebsocketsTransport(
        url=server.graphql_ws_url,
        init_payload={"Authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    async with Client(transport=transport) as session:
        request = GraphQLRequest(EXPORT_UPDATED, variable_values={"id": export_id})
        async for _ in session.subscribe(request):
            break


async def test_server_log_holds_no_secrets_or_guest_data(world: World, server: Server):
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        created_by=admin,
        buyer_email=BUYER_EMAIL,
        buyer_name=GUESTS_ON_BOOKING[0],
        guests=GUESTS_ON_BOOKING,
    )

    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"email": admin.email, "password": WRONG_PASSWORD}},
        )
        headers = await sign_in_over_http(client, admin)
        token = headers["Authorization"].removeprefix("Bearer ")
        await client.get(
            "/graphql",
            params={"query": GUESTS, "variables": json.dumps({"search": "Quastenberg"})},
            headers=headers,
        )
        exported = await client.post(
            "/graphql",
            json={"query": EXPORT_GUESTS, "variables": {"search": "Zwetschgenbaum"}},
            headers=headers,
        )
        export = exported.json()["data"]["createExport"]["export"]
        download = await client.get(export["url"])
        await subscribe_once(server, token, export["id"])
    download_url = urlsplit(export["url"])
    signature = parse_qs(download_url.query)["signature"][0]
    log = server.log()
    download_lines = [
        entry
        for entry in entries(log)
        if entry["logger"] == "uvicorn.access" and download_url.path in entry["message"]
    ]

    assert download.status_code == 200
    assert len(download_lines) == 1
    assert download_lines[0]["request_id"] == download.headers["x-request-id"]
    for secret in [PASSWORD, WRONG_PASSWORD, token, signature]:
        assert secret not in log
    for personal_data in [*(name for pair in GUESTS_ON_BOOKING for name in pair), BUYER_EMAIL]:
        assert personal_data not in log
