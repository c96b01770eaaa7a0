"""`createExport`: input checks, and waiting for exports small enough to finish at once."""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.exports.jobs import RowsWritten, write_rows
from api.exports.storage import LocalExportStorage
from api.exports.worker import ExportWorker
from api.settings import Environment, Settings
from models.commands.auth import sign_in
from models.enums import ExportStatus, Role
from models.exports import Export
from schema.relay import to_global_id
from tests.api.exports.support import (
    BASE_URL,
    CREATE_EXPORT,
    SECRET_KEY,
    create_export,
    created_export,
    export_pk,
    export_service,
    parse_csv,
)
from tests.factories import PASSWORD, add_booking
from tests.helpers import execute

EXPORT_NODE = """
query Node($id: ID!) {
  node(id: $id) {
    ... on Export { status url rowCount error progress { rowsWritten rowsExpected } }
  }
}
"""

BAD_INPUTS = [
    ("GUESTS", {"role": ["ADMIN"]}, None, [("filter.role", "INVALID")]),
    ("GUESTS", {"isActive": True}, None, [("filter.isActive", "INVALID")]),
    ("GUESTS", {"marketingConsent": True}, None, [("filter.marketingConsent", "INVALID")]),
    ("CUSTOMERS", {"includePartners": True}, None, [("filter.includePartners", "INVALID")]),
    ("CUSTOMERS", {"checkedIn": False}, None, [("filter.checkedIn", "INVALID")]),
    ("USERS", {"tripDate": {"from": "2026-07-01"}}, None, [("filter.tripDate", "INVALID")]),
    (
        "USERS",
        {"status": ["CONFIRMED"], "category": ["ADULT"]},
        None,
        [("filter.status", "INVALID"), ("filter.category", "INVALID")],
    ),
    ("GUESTS", None, {"marketingConsentOnly": True}, [("options.marketingConsentOnly", "INVALID")]),
    ("USERS", None, {"marketingConsentOnly": True}, [("options.marketingConsentOnly", "INVALID")]),
    (
        "CUSTOMERS",
        {"marketingConsent": False},
        {"marketingConsentOnly": True},
        [("options.marketingConsentOnly", "INVALID")],
    ),
    (
        "GUESTS",
        {"tripDate": {"from": "2026-07-20", "to": "2026-07-14"}},
        None,
        [("filter", "INVALID")],
    ),
    (
        "CUSTOMERS",
        {"bookingDate": {"from": "2026-07-20", "to": "2026-07-14"}},
        None,
        [("filter", "INVALID")],
    ),
    ("GUESTS", {"departure": "not-an-id"}, None, [("filter", "INVALID")]),
    ("GUESTS", {"departure": to_global_id("Activity", 1)}, None, [("filter", "INVALID")]),
    ("GUESTS", {"activity": "QWN0aXZpdHk6eA"}, None, [("filter", "INVALID")]),
    ("GUESTS", {"search": "x" * 201}, None, [("filter", "INVALID")]),
    ("USERS", {"search": "nul\x00"}, None, [("filter", "INVALID")]),
]
BAD_INPUT_IDS = [
    "role-on-guests",
    "is-active-on-guests",
    "consent-on-guests",
    "partners-on-customers",
    "checked-in-on-customers",
    "trip-date-on-users",
    "two-foreign-fields",
    "consent-only-on-guests",
    "consent-only-on-users",
    "consent-only-against-filter",
    "trip-date-reversed",
    "booking-date-reversed",
    "malformed-departure",
    "departure-of-wrong-type",
    "malformed-activity",
    "search-too-long",
    "search-with-nul",
]


@pytest.mark.parametrize(
    ("list_name", "export_filter", "options", "expected"), BAD_INPUTS, ids=BAD_INPUT_IDS
)
async def test_create_export_rejects_bad_input(world, list_name, export_filter, options, expected):
    admin = world.user("alpine", Role.ADMIN)

    result = await create_export(admin, list_name, export_filter, options)

    assert result.errors == []
    assert result.data is not None
    payload = result.data["createExport"]
    assert payload["export"] is None
    assert [(error["field"], error["code"]) for error in payload["errors"]] == expected
    assert all(error["message"] for error in payload["errors"])
    assert await Export.all().count() == 0


async def test_reversed_range_message_names_the_dates(world):
    admin = world.user("alpine", Role.ADMIN)

    result = await create_export(
        admin, "GUESTS", {"tripDate": {"from": "2026-07-20", "to": "2026-07-14"}}
    )

    assert result.data is not None
    [error] = result.data["createExport"]["errors"]
    assert "tripDate.from (2026-07-20) is after tripDate.to (2026-07-14)" in error["message"]


BAD_ENUMS = [
    {"list": "PEOPLE"},
    {"list": "GUESTS", "options": {"delimiter": "PIPE"}},
    {"list": "GUESTS", "filter": {"status": ["LOST"]}},
    {"list": "GUESTS", "filter": {"category": ["PET"]}},
    {"list": "USERS", "filter": {"role": ["KING"]}},
    {"list": "GUESTS", "filter": {"tripDate": {"from": "14.07.2026"}}},
]


@pytest.mark.parametrize(
    "export_input",
    BAD_ENUMS,
    ids=["list", "delimiter", "status", "category", "role", "date-format"],
)
async def test_unknown_enum_value_is_bad_input(world, export_input):
    admin = world.user("alpine", Role.ADMIN)

    result = await execute(admin, CREATE_EXPORT, {"input": export_input}, exports=export_service())

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.data is None
    assert await Export.all().count() == 0


async def test_create_export_stores_filter_and_options(world):
    admin = world.user("alpine", Role.ADMIN)
    export_filter = {"search": "anna", "includePartners": True, "checkedIn": False}
    options = {"byteOrderMark": True, "delimiter": "SEMICOLON"}

    export = created_export(await create_export(admin, "GUESTS", export_filter, options))

    assert export["list"] == "GUESTS"
    assert export["filter"] == export_filter
    assert export["options"] == {**options, "marketingConsentOnly": False}


async def test_create_export_queues_when_no_worker_runs(world):
    export = created_export(await create_export(world.user("alpine", Role.ADMIN), "USERS"))

    assert export["status"] == "QUEUED"
    assert export["url"] is None
    assert export["rowCount"] is None
    assert export["progress"] == {"rowsWritten": 0, "rowsExpected": None}


@pytest.fixture
async def running_worker(storage: LocalExportStorage) -> AsyncIterator[ExportWorker]:
    worker = ExportWorker(storage, poll_interval=0.05)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


async def test_small_export_done_in_same_response(world, running_worker):
    service = export_service(worker=running_worker, wait=timedelta(seconds=10))

    result = await create_export(world.user("alpine", Role.ADMIN), "USERS", service=service)

    export = created_export(result)
    assert export["status"] == "DONE"
    assert export["url"].startswith(f"{BASE_URL}exports/{export_pk(export)}/download?")
    assert export["rowCount"] == 6
    assert export["progress"] == {"rowsWritten": 6, "rowsExpected": 6}
    assert export["fileName"].startswith("Alpine-users-")


def rows_held_until(gate: asyncio.Event) -> Callable[..., Any]:
    """Wrap `write_rows` so that no row is written before `gate` is set."""

    async def held_rows(*arguments: Any, report: RowsWritten) -> int:
        await gate.wait()
        return await write_rows(*arguments, report=report)

    return held_rows


async def poll_node(admin: Any, export_id: str, until: Callable[[dict[str, Any]], bool]) -> Any:
    for _ in range(200):
        result = await execute(admin, EXPORT_NODE, {"id": export_id}, exports=export_service())
        assert result.data is not None, result.errors
        if until(result.data["node"]):
            return result.data["node"]
        await asyncio.sleep(0.025)
    raise AssertionError(f"Export {export_id} never reached the expected state")


async def test_slow_export_returns_early_and_finishes(world, running_worker, monkeypatch):
    for index in range(30):
        await add_booking(
            seller=world.alpine, departure=world.departure, guests=[("Guest", f"N{index:02d}")]
        )
    monkeypatch.setattr("api.exports.jobs.BATCH_SIZE", 7)
    gate = asyncio.Event()
    monkeypatch.setattr("api.exports.jobs.write_rows", rows_held_until(gate))
    admin = world.user("alpine", Role.ADMIN)
    service = export_service(worker=running_worker, wait=timedelta(milliseconds=50))

    export = created_export(await create_export(admin, "GUESTS", service=service))
    running = await poll_node(admin, export["id"], lambda node: node["status"] == "RUNNING")
    gate.set()
    done = await poll_node(admin, export["id"], lambda node: node["status"] != "RUNNING")

    assert export["status"] in {"QUEUED", "RUNNING"}
    assert export["url"] is None
    assert running["url"] is None
    assert running["progress"] == {"rowsWritten": 0, "rowsExpected": 30}
    assert done["status"] == "DONE", done["error"]
    assert done["url"]
    assert done["rowCount"] == 30


@pytest.fixture
async def app_client(db: str, export_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        env=Environment.TEST,
        secret_key=SECRET_KEY,
        export_dir=export_dir,
        export_wait=timedelta(seconds=10),
    )
    app = create_app(settings, manage_database=False)
    # The lifespan starts and stops the app's export worker, as uvicorn would.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tourdesk.test"
        ) as client:
            yield client


async def test_export_over_http_with_app_worker(world, app_client):
    admin = world.user("alpine", Role.ADMIN)
    signed_in = await sign_in(admin.email, PASSWORD, token_ttl=timedelta(hours=1))

    response = await app_client.post(
        "/graphql",
        json={"query": CREATE_EXPORT, "variables": {"input": {"list": "USERS"}}},
        headers={"Authorization": f"Bearer {signed_in.token}"},
    )
    export = response.json()["data"]["createExport"]["export"]
    download = await app_client.get(export["url"])

    assert export["status"] == "DONE"
    assert download.status_code == 200
    assert len(parse_csv(download.content)) == 1 + 6


def files_in(storage: LocalExportStorage) -> list[Path]:
    return sorted(path for path in storage.root.rglob("*") if path.is_file())


async def test_worker_stop_queues_running_job_again(world, storage, monkeypatch):
    gate = asyncio.Event()
    monkeypatch.setattr("api.exports.jobs.write_rows", rows_held_until(gate))
    worker = ExportWorker(storage, poll_interval=0.05)
    await worker.start()
    admin = world.user("alpine", Role.ADMIN)
    export = created_export(
        await create_export(admin, "GUESTS", service=export_service(worker=worker))
    )
    # Expected rows are counted once the file is open.
    await poll_node(admin, export["id"], lambda node: node["progress"]["rowsExpected"] == 0)
    partial_files = files_in(storage)

    await worker.stop()

    row = await Export.get(id=export_pk(export))
    assert [path.suffix for path in partial_files] == [".part"]
    assert files_in(storage) == []
    assert row.status is ExportStatus.QUEUED
    assert row.claimed_by == ""
