"""`/metrics`: GraphQL operations and errors, export jobs and the export queue."""

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api import metrics
from api.exports.storage import LocalExportStorage
from api.exports.worker import ExportWorker
from models.commands.exports import ExportOptions, request_export
from models.enums import ExportList, ExportStatus, Role
from models.exports import Export
from models.queries.guests import GuestFilter
from tests.api.app_client import app_client, sign_in_over_http
from tests.factories import World, add_booking, viewer_for

VIEWER = "query Viewer { viewer { email } }"

OPERATION_COUNT = "tourdesk_graphql_operation_duration_seconds_count"
ERROR_COUNT = "tourdesk_graphql_errors_total"
JOB_COUNT = "tourdesk_export_jobs_total"
JOB_DURATION_COUNT = "tourdesk_export_job_duration_seconds_count"
QUEUE_DEPTH = "tourdesk_export_queue_depth"


async def scrape(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    """Return a sample's value from `/metrics`, or 0 when the sample is not there yet."""
    response = await client.get("/metrics")
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


async def test_metrics_use_prometheus_text_format(db: str, tmp_path: Path):
    async with app_client(db, tmp_path) as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")


async def test_operation_is_timed_by_name_and_type(world: World, db: str, tmp_path: Path):
    async with app_client(db, tmp_path) as client:
        headers = await sign_in_over_http(client, world.user("alpine", Role.ADMIN))
        before = await scrape(client, OPERATION_COUNT, operation="Viewer", type="query")
        await client.post("/graphql", json={"query": VIEWER}, headers=headers)
        after = await scrape(client, OPERATION_COUNT, operation="Viewer", type="query")

    assert after == before + 1


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (VIEWER, "UNAUTHENTICATED"),
        ("query { viewer { email }", "GRAPHQL_PARSE_FAILED"),
        ("query { viewer { noSuchField } }", "BAD_USER_INPUT"),
    ],
    ids=["unauthenticated", "parse-failed", "invalid"],
)
async def test_errors_are_counted_by_code(db: str, tmp_path: Path, document: str, code: str):
    async with app_client(db, tmp_path) as client:
        before = await scrape(client, ERROR_COUNT, code=code)
        await client.post("/graphql", json={"query": document})
        after = await scrape(client, ERROR_COUNT, code=code)

    assert after == before + 1


async def test_finished_export_job_is_counted_and_timed(world: World, db: str, tmp_path: Path):
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)
    await request_export(
        await viewer_for(admin),
        ExportList.GUESTS,
        GuestFilter(),
        ExportOptions(),
        retention=timedelta(days=1),
    )
    worker = ExportWorker(LocalExportStorage(tmp_path / "exports"))

    async with app_client(db, tmp_path) as client:
        jobs_before = await scrape(client, JOB_COUNT, status="DONE")
        timed_before = await scrape(client, JOB_DURATION_COUNT, status="DONE")
        await worker.run_next()
        jobs_after = await scrape(client, JOB_COUNT, status="DONE")
        timed_after = await scrape(client, JOB_DURATION_COUNT, status="DONE")

    assert jobs_after == jobs_before + 1
    assert timed_after == timed_before + 1


async def test_queue_depth_counts_queued_exports(world: World, db: str, tmp_path: Path):
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    exports = [
        await request_export(
            viewer, ExportList.GUESTS, GuestFilter(), ExportOptions(), retention=timedelta(days=1)
        )
        for _ in range(3)
    ]
    await Export.filter(id=exports[0].id).update(status=ExportStatus.DONE)

    async with app_client(db, tmp_path) as client:
        depth = await scrape(client, QUEUE_DEPTH)

    assert depth == 2


@pytest.mark.parametrize(
    ("name", "label"),
    [
        (None, "anonymous"),
        ("GuestList", "GuestList"),
        ("guest list; drop", "invalid"),
        ("x" * 101, "invalid"),
    ],
    ids=["anonymous", "named", "not-a-name", "too-long"],
)
def test_operation_label(name: str | None, label: str):
    assert metrics.operation_label(name) == label


def test_operation_labels_stop_growing_at_maximum(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(metrics, "_operation_names", set())
    monkeypatch.setattr(metrics, "MAX_OPERATION_NAMES", 2)

    labels = [metrics.operation_label(name) for name in ["First", "Second", "Third", "First"]]

    assert labels == ["First", "Second", "other", "First"]
