"""`exportUpdated` run in-process: what it pushes, when it ends, and who may subscribe."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.commands.auth import sign_in, sign_out
from models.enums import ExportList, ExportStatus, Role
from models.exports import Export
from models.users import User
from schema.context import Context
from schema.dataloaders import build_loaders
from schema.relay import to_global_id
from tests.api.exports.support import export_service
from tests.factories import PASSWORD, World, viewer_for
from tests.helpers import SCHEMA

EXPORT_UPDATED = """
subscription ($id: ID!) {
  exportUpdated(id: $id) { status progress { rowsWritten rowsExpected } }
}
"""

POLL_INTERVAL = timedelta(milliseconds=10)


async def add_export(user: User, status: ExportStatus = ExportStatus.QUEUED) -> Export:
    now = datetime.now(UTC)
    return await Export.create(
        organization_id=user.organization_id,
        requested_by_id=user.id,
        list=ExportList.GUESTS,
        status=status,
        created_at=now,
        expires_at=now + timedelta(days=1),
    )


async def subscribe(
    user: User | None, global_id: str, *, token: str | None = None
) -> AsyncIterator[Any]:
    viewer = await viewer_for(user) if user else None
    context = Context(
        viewer=viewer,
        loaders=build_loaders(viewer),
        token=token,
        exports=replace(export_service(), poll_interval=POLL_INTERVAL),
    )
    results = await SCHEMA.subscribe(
        EXPORT_UPDATED, variable_values={"id": global_id}, context_value=context
    )
    assert not isinstance(results, Exception)
    return results


async def statuses(results: AsyncIterator[Any]) -> list[str]:
    """Read every result until the subscription ends."""
    return [result.data["exportUpdated"]["status"] async for result in results]


async def error_codes(results: AsyncIterator[Any]) -> list[str]:
    result = await anext(results)
    return [error.extensions["code"] for error in result.errors or []]


async def test_finished_export_is_pushed_once(world: World):
    admin = world.user("alpine", Role.ADMIN)
    export = await add_export(admin, ExportStatus.DONE)

    received = await statuses(await subscribe(admin, to_global_id("Export", export.id)))

    assert received == ["DONE"]


async def test_unchanged_export_is_not_pushed_again(world: World):
    admin = world.user("alpine", Role.ADMIN)
    export = await add_export(admin)
    results = await subscribe(admin, to_global_id("Export", export.id))
    first = await anext(results)

    # Many polls pass without a change before the job moves on.
    pending = asyncio.ensure_future(anext(results))
    await asyncio.sleep(POLL_INTERVAL.total_seconds() * 10)
    await Export.filter(id=export.id).update(status=ExportStatus.RUNNING, rows_expected=5)
    second = await pending
    await Export.filter(id=export.id).update(status=ExportStatus.DONE, rows_written=5)
    rest = await statuses(results)

    assert first.data["exportUpdated"]["status"] == "QUEUED"
    assert second.data["exportUpdated"]["progress"] == {"rowsWritten": 0, "rowsExpected": 5}
    assert rest == ["DONE"]


@pytest.mark.parametrize(
    ("organization", "role"),
    [("lakeside", Role.ADMIN), ("alpine", Role.EMPLOYEE), ("alpine", Role.GUIDE)],
    ids=["other-organization", "employee-not-requester", "guide"],
)
async def test_export_hidden_from_viewer_is_not_found(world: World, organization: str, role: Role):
    export = await add_export(world.user("alpine", Role.ADMIN))

    codes = await error_codes(
        await subscribe(world.user(organization, role), to_global_id("Export", export.id))
    )

    assert codes == ["NOT_FOUND"]


async def test_id_of_another_type_is_not_found(world: World):
    admin = world.user("alpine", Role.ADMIN)

    codes = await error_codes(await subscribe(admin, to_global_id("User", admin.id)))

    assert codes == ["NOT_FOUND"]


async def test_revoked_token_starts_nothing(world: World):
    admin = world.user("alpine", Role.ADMIN)
    export = await add_export(admin)
    signed_in = await sign_in(admin.email, PASSWORD, token_ttl=timedelta(hours=1))
    await sign_out(signed_in.token)

    codes = await error_codes(
        await subscribe(admin, to_global_id("Export", export.id), token=signed_in.token)
    )

    assert codes == ["UNAUTHENTICATED"]


async def test_anonymous_subscriber_is_unauthenticated(world: World):
    export = await add_export(world.user("alpine", Role.ADMIN))

    codes = await error_codes(await subscribe(None, to_global_id("Export", export.id)))

    assert codes == ["UNAUTHENTICATED"]
