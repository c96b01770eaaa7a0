"""Who may export which list, and who may read an export and its download URL."""

from datetime import UTC, datetime, timedelta

import pytest

from api.exports.worker import ExportWorker
from models.enums import ExportStatus, Role
from models.exports import Export
from models.users import User, UserRole
from tests.api.exports.support import (
    BASE_URL,
    create_export,
    created_export,
    export_pk,
    export_service,
    run_queued_jobs,
)
from tests.factories import World
from tests.helpers import Result, execute

EXPORTS = """
query { exports(first: 100) { totalCount nodes { id status url requestedBy { email } } } }
"""

EXPORT_NODE = """
query Node($id: ID!) { node(id: $id) { ... on Export { id status url } } }
"""

ALLOWED = {
    "GUESTS": {Role.ADMIN, Role.EMPLOYEE, Role.ACCOUNTANT},
    "CUSTOMERS": {Role.ADMIN, Role.ACCOUNTANT},
    "USERS": {Role.ADMIN},
}

EXPORT_CASES = [
    (list_name, role, "OK" if role in allowed else "FORBIDDEN")
    for list_name, allowed in ALLOWED.items()
    for role in Role
]


def outcome(result: Result) -> str:
    if result.errors:
        return "+".join(result.codes)
    assert result.data is not None
    codes = [error["code"] for error in result.data["createExport"]["errors"]]
    return "+".join(codes) or "OK"


@pytest.mark.parametrize(
    ("list_name", "role", "expected"),
    EXPORT_CASES,
    ids=[f"{list_name.lower()}-{role.value.lower()}" for list_name, role, _ in EXPORT_CASES],
)
async def test_create_export_by_role(world, list_name, role, expected):
    result = await create_export(world.user("alpine", role), list_name)

    assert outcome(result) == expected
    assert await Export.all().count() == (1 if expected == "OK" else 0)


@pytest.mark.parametrize("list_name", list(ALLOWED), ids=str.lower)
async def test_create_export_anonymous(world, list_name):
    result = await create_export(None, list_name)

    assert result.codes == ["UNAUTHENTICATED"]
    assert await Export.all().count() == 0


async def test_user_without_roles_cannot_export(world):
    no_role = await User.create(
        organization_id=world.alpine.id,
        email="norole@alpine.example",
        first_name="No",
        last_name="Role",
        password_hash="-",
    )

    result = await create_export(no_role, "GUESTS")

    assert result.codes == ["FORBIDDEN"]


REQUESTERS = {
    "alpine-admin": ("alpine", Role.ADMIN, "USERS"),
    "alpine-employee": ("alpine", Role.EMPLOYEE, "GUESTS"),
    "alpine-accountant": ("alpine", Role.ACCOUNTANT, "CUSTOMERS"),
    "lakeside-admin": ("lakeside", Role.ADMIN, "GUESTS"),
}


@pytest.fixture
async def exports(world: World) -> dict[str, str]:
    """Return the global ID of one export per requester label."""
    ids = {}
    for label, (organization, role, list_name) in REQUESTERS.items():
        export = created_export(await create_export(world.user(organization, role), list_name))
        ids[label] = export["id"]
    return ids


async def list_exports(user: User | None) -> Result:
    return await execute(user, EXPORTS, exports=export_service())


LIST_CASES = [
    ("alpine", Role.ADMIN, {"alpine-admin", "alpine-employee", "alpine-accountant"}),
    ("alpine", Role.EMPLOYEE, {"alpine-employee"}),
    ("alpine", Role.ACCOUNTANT, {"alpine-accountant"}),
    ("alpine", Role.GUIDE, set()),
    ("lakeside", Role.ADMIN, {"lakeside-admin"}),
    ("lakeside", Role.EMPLOYEE, set()),
    ("summit", Role.ADMIN, set()),
]


@pytest.mark.parametrize(
    ("organization", "role", "visible"),
    LIST_CASES,
    ids=[f"{organization}-{role.value.lower()}" for organization, role, _ in LIST_CASES],
)
async def test_exports_list_by_viewer(world, exports, organization, role, visible):
    result = await list_exports(world.user(organization, role))

    assert result.errors == []
    assert result.data is not None
    listed = {node["id"] for node in result.data["exports"]["nodes"]}
    assert listed == {exports[label] for label in visible}
    assert result.data["exports"]["totalCount"] == len(visible)


async def test_exports_list_anonymous(world, exports):
    result = await list_exports(None)

    assert result.codes == ["UNAUTHENTICATED"]


async def test_exports_list_newest_first(world):
    admin = world.user("alpine", Role.ADMIN)
    first = created_export(await create_export(admin, "USERS"))
    second = created_export(await create_export(admin, "GUESTS"))

    result = await list_exports(admin)

    assert result.data is not None
    assert [node["id"] for node in result.data["exports"]["nodes"]] == [second["id"], first["id"]]


NODE_CASES = [
    ("alpine", Role.ADMIN, "alpine-employee", "OK"),
    ("alpine", Role.ADMIN, "alpine-accountant", "OK"),
    ("alpine", Role.EMPLOYEE, "alpine-employee", "OK"),
    ("alpine", Role.EMPLOYEE, "alpine-admin", "NOT_FOUND"),
    ("alpine", Role.ACCOUNTANT, "alpine-employee", "NOT_FOUND"),
    ("alpine", Role.GUIDE, "alpine-employee", "NOT_FOUND"),
    ("alpine", Role.ADMIN, "lakeside-admin", "NOT_FOUND"),
    ("lakeside", Role.ADMIN, "alpine-admin", "NOT_FOUND"),
    ("lakeside", Role.ADMIN, "alpine-employee", "NOT_FOUND"),
    ("summit", Role.ADMIN, "alpine-admin", "NOT_FOUND"),
]


@pytest.mark.parametrize(
    ("organization", "role", "export", "expected"),
    NODE_CASES,
    ids=[
        f"{organization}-{role.value.lower()}-reads-{export}"
        for organization, role, export, _ in NODE_CASES
    ],
)
async def test_export_node_by_viewer(world, exports, organization, role, export, expected):
    result = await execute(
        world.user(organization, role),
        EXPORT_NODE,
        {"id": exports[export]},
        exports=export_service(),
    )

    assert (result.codes or ["OK"]) == [expected]


async def test_url_is_null_until_done(world, storage):
    employee = world.user("alpine", Role.EMPLOYEE)
    export = created_export(await create_export(employee, "GUESTS"))

    queued = await execute(employee, EXPORT_NODE, {"id": export["id"]}, exports=export_service())
    await run_queued_jobs(ExportWorker(storage))
    done = await execute(employee, EXPORT_NODE, {"id": export["id"]}, exports=export_service())

    assert export["status"] == "QUEUED"
    assert export["url"] is None
    assert queued.data == {"node": {"id": export["id"], "status": "QUEUED", "url": None}}
    assert done.data is not None
    assert done.data["node"]["status"] == "DONE"
    assert done.data["node"]["url"].startswith(
        f"{BASE_URL}exports/{export_pk(export)}/download?expires="
    )


@pytest.mark.parametrize(
    "status", [ExportStatus.RUNNING, ExportStatus.FAILED, ExportStatus.EXPIRED], ids=str.lower
)
async def test_url_is_null_unless_done(world, status):
    admin = world.user("alpine", Role.ADMIN)
    export = created_export(await create_export(admin, "USERS"))
    await Export.filter(id=export_pk(export)).update(status=status)

    result = await execute(admin, EXPORT_NODE, {"id": export["id"]}, exports=export_service())

    assert result.data == {"node": {"id": export["id"], "status": status.value, "url": None}}


async def test_url_only_for_readable_export(world, storage):
    employee = world.user("alpine", Role.EMPLOYEE)
    admin = world.user("alpine", Role.ADMIN)
    export = created_export(await create_export(admin, "GUESTS"))
    await run_queued_jobs(ExportWorker(storage))

    by_admin = await execute(admin, EXPORT_NODE, {"id": export["id"]}, exports=export_service())
    by_employee = await execute(
        employee, EXPORT_NODE, {"id": export["id"]}, exports=export_service()
    )
    employee_list = await list_exports(employee)

    assert by_admin.data is not None
    assert by_admin.data["node"]["url"]
    assert by_employee.codes == ["NOT_FOUND"]
    assert by_employee.data is None
    assert employee_list.data == {"exports": {"totalCount": 0, "nodes": []}}


async def test_exports_list_shows_requester(world, exports):
    result = await list_exports(world.user("alpine", Role.ADMIN))

    assert result.data is not None
    assert {node["requestedBy"]["email"] for node in result.data["exports"]["nodes"]} == {
        "admin@alpine.example",
        "employee@alpine.example",
        "accountant@alpine.example",
    }


async def test_own_export_hidden_after_losing_role(world, storage):
    accountant = world.user("alpine", Role.ACCOUNTANT)
    export = created_export(await create_export(accountant, "CUSTOMERS"))
    await run_queued_jobs(ExportWorker(storage))
    await UserRole.filter(user_id=accountant.id).update(role=Role.EDITOR)

    node = await execute(accountant, EXPORT_NODE, {"id": export["id"]}, exports=export_service())
    listed = await list_exports(accountant)

    assert node.codes == ["NOT_FOUND"]
    assert listed.data == {"exports": {"totalCount": 0, "nodes": []}}


async def test_url_is_null_past_retention(world, storage):
    admin = world.user("alpine", Role.ADMIN)
    export = created_export(await create_export(admin, "USERS"))
    await run_queued_jobs(ExportWorker(storage))
    await Export.filter(id=export_pk(export)).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    result = await execute(admin, EXPORT_NODE, {"id": export["id"]}, exports=export_service())

    assert result.data == {"node": {"id": export["id"], "status": "DONE", "url": None}}
