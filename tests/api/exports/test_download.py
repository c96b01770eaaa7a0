"""`GET /exports/{id}/download` over HTTP: signed URLs, key rotation, headers and missing files."""

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.app import create_app
from api.exports.download import CHUNK_SIZE
from api.exports.signing import UrlSigner, key_id
from api.exports.storage import LocalExportStorage
from api.exports.worker import ExportWorker
from api.settings import Environment, Settings
from models.commands.auth import sign_in
from models.enums import ExportStatus, Role
from models.exports import Export
from models.users import User
from schema.relay import from_global_id
from tests.api.exports.support import CREATE_EXPORT, SECRET_KEY, parse_csv
from tests.factories import PASSWORD, World, create_organization, create_user

OLD_KEY = "old-secret-key-0123456789abcdefghijklmnopq"
UNKNOWN_KEY = "unknown-secret-key-0123456789abcdefghijklm"

EXPORT_NODE = """
query Node($id: ID!) { node(id: $id) { ... on Export { id status url fileName } } }
"""


def settings_for(export_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": Environment.TEST,
        "secret_key": SECRET_KEY,
        "old_secret_keys": OLD_KEY,
        "export_dir": export_dir,
        "export_wait": timedelta(milliseconds=1),
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
async def client(db: str, export_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    # The `db` fixture has connected Tortoise, and the tests run jobs themselves.
    app = create_app(settings_for(export_dir), manage_database=False, run_export_worker=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tourdesk.test") as client:
        yield client


async def token_for(user: User) -> str:
    signed_in = await sign_in(user.email, PASSWORD, token_ttl=timedelta(hours=1))
    return signed_in.token


async def post(
    client: httpx.AsyncClient, token: str, document: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def finished_export(
    client: httpx.AsyncClient, user: User, storage: LocalExportStorage
) -> dict[str, Any]:
    """Export the users list over HTTP, run the job and return the export with its URL."""
    token = await token_for(user)
    created = await post(client, token, CREATE_EXPORT, {"input": {"list": "USERS"}})
    export_id = created["createExport"]["export"]["id"]
    assert await ExportWorker(storage).run_next()

    node: dict[str, Any] = (await post(client, token, EXPORT_NODE, {"id": export_id}))["node"]
    assert node["status"] == "DONE"
    return node


def pk_of(export: dict[str, Any]) -> int:
    return from_global_id(export["id"])[1]


@pytest.fixture
def admin(world: World) -> User:
    return world.user("alpine", Role.ADMIN)


async def test_download_streams_file(client, admin, storage):
    export = await finished_export(client, admin, storage)

    response = await client.get(export["url"])

    row = await Export.get(id=pk_of(export))
    assert response.status_code == 200
    assert response.content == storage.path(row.storage_key).read_bytes()
    assert parse_csv(response.content)[0][0] == "email"
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment; ")


async def test_download_url_is_absolute(client, admin, storage):
    export = await finished_export(client, admin, storage)

    parts = urlsplit(export["url"])

    assert (parts.scheme, parts.netloc) == ("http", "tourdesk.test")
    assert parts.path == f"/exports/{pk_of(export)}/download"
    assert set(parse_qs(parts.query)) == {"expires", "kid", "signature"}


FILE_NAMES = [
    ("Zürich Höhenflüge", "Zurich-Hohenfluge", "Zürich-Höhenflüge"),
    ("山岳ツアー", "", "山岳ツアー"),
    ('Café "Le Vol" / Annecy', "Cafe-Le-Vol-Annecy", "Café-Le-Vol-Annecy"),
]


@pytest.mark.parametrize(
    ("organization_name", "ascii_name", "utf8_name"),
    FILE_NAMES,
    ids=["accents", "cjk", "punctuation"],
)
async def test_download_file_name_from_organization(
    client, db, storage, organization_name, ascii_name, utf8_name
):
    organization = await create_organization("hoehenflug")
    organization.name = organization_name
    await organization.save()
    admin = await create_user(organization, Role.ADMIN)
    export = await finished_export(client, admin, storage)

    response = await client.get(export["url"])

    stamp = re.fullmatch(
        rf"{re.escape(utf8_name)}-(users-\d{{4}}-\d\d-\d\d-\d{{4}}\.csv)", export["fileName"]
    )
    assert stamp is not None, export["fileName"]
    ascii_file_name = f"{ascii_name}-{stamp[1]}" if ascii_name else stamp[1]
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{ascii_file_name}"; '
        f"filename*=UTF-8''{quote(export['fileName'], safe='')}"
    )


async def test_file_name_in_organization_local_time(client, admin, storage):
    export = await finished_export(client, admin, storage)

    row = await Export.get(id=pk_of(export))
    local = row.created_at.astimezone(ZoneInfo("Europe/Zurich"))
    assert export["fileName"] == f"Alpine-users-{local:%Y-%m-%d-%H%M}.csv"


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def flip_last_character(value: str) -> str:
    return value[:-1] + ("A" if value[-1] != "A" else "B")


TAMPERINGS: dict[str, Callable[[str, int], str]] = {
    "signature": lambda url, other_id: with_query(
        url, signature=flip_last_character(parse_qs(urlsplit(url).query)["signature"][0])
    ),
    "id": lambda url, other_id: re.sub(r"/exports/\d+/", f"/exports/{other_id}/", url),
    "expires": lambda url, other_id: with_query(
        url, expires=str(int(parse_qs(urlsplit(url).query)["expires"][0]) + 3600)
    ),
    "expires-superscript": lambda url, other_id: with_query(url, expires="\u00b2"),
    "expires-huge": lambda url, other_id: with_query(url, expires="9" * 5000),
    "kid-unknown": lambda url, other_id: with_query(url, kid="00000000"),
    "kid-of-old-key": lambda url, other_id: with_query(url, kid=key_id(OLD_KEY)),
    "no-signature": lambda url, other_id: url.split("&signature=")[0],
    "no-query": lambda url, other_id: url.split("?")[0],
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
async def test_tampered_url_is_forbidden(client, admin, storage, tampering):
    other = await finished_export(client, admin, storage)
    export = await finished_export(client, admin, storage)

    response = await client.get(TAMPERINGS[tampering](export["url"], pk_of(other)))

    assert response.status_code == 403
    assert response.headers["cache-control"] == "no-store"
    assert "email" not in response.text


async def test_expired_url_is_gone(client, admin, storage):
    export = await finished_export(client, admin, storage)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)

    path = UrlSigner(current_key=SECRET_KEY).sign(pk_of(export), now=an_hour_ago)
    response = await client.get(path)

    assert response.status_code == 410


async def test_expired_url_with_bad_signature_is_forbidden(client, admin, storage):
    export = await finished_export(client, admin, storage)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    path = UrlSigner(current_key=SECRET_KEY).sign(pk_of(export), now=an_hour_ago)

    response = await client.get(with_query(path, signature="forged"))

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("signing_key", "status_code"),
    [(SECRET_KEY, 200), (OLD_KEY, 200), (UNKNOWN_KEY, 403)],
    ids=["current-key", "old-key", "unknown-key"],
)
async def test_url_signed_with_key(client, admin, storage, signing_key, status_code):
    export = await finished_export(client, admin, storage)

    response = await client.get(UrlSigner(current_key=signing_key).sign(pk_of(export)))

    assert response.status_code == status_code


async def test_old_key_stops_working_once_dropped(db, admin, storage, export_dir):
    app = create_app(
        settings_for(export_dir, old_secret_keys=""), manage_database=False, run_export_worker=False
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tourdesk.test") as client:
        export = await finished_export(client, admin, storage)

        response = await client.get(UrlSigner(current_key=OLD_KEY).sign(pk_of(export)))

    assert response.status_code == 403


async def test_url_survives_key_rotation(db, admin, storage, export_dir):
    before = create_app(
        settings_for(export_dir, secret_key=OLD_KEY, old_secret_keys=""),
        manage_database=False,
        run_export_worker=False,
    )
    after = create_app(settings_for(export_dir), manage_database=False, run_export_worker=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=before), base_url="http://tourdesk.test"
    ) as old_client:
        export = await finished_export(old_client, admin, storage)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=after), base_url="http://tourdesk.test"
    ) as new_client:
        response = await new_client.get(export["url"])

    assert parse_qs(urlsplit(export["url"]).query)["kid"] == [key_id(OLD_KEY)]
    assert response.status_code == 200


async def test_deleted_export_is_not_found(client, admin, storage):
    export = await finished_export(client, admin, storage)
    await Export.filter(id=pk_of(export)).delete()

    response = await client.get(export["url"])

    assert response.status_code == 404


@pytest.mark.parametrize(
    "status",
    [ExportStatus.EXPIRED, ExportStatus.FAILED, ExportStatus.QUEUED, ExportStatus.RUNNING],
    ids=str.lower,
)
async def test_export_not_done_is_not_found(client, admin, storage, status):
    export = await finished_export(client, admin, storage)
    await Export.filter(id=pk_of(export)).update(status=status)

    response = await client.get(export["url"])

    assert response.status_code == 404


async def test_missing_file_is_not_found(client, admin, storage):
    export = await finished_export(client, admin, storage)
    row = await Export.get(id=pk_of(export))
    storage.path(row.storage_key).unlink()

    response = await client.get(export["url"])

    assert response.status_code == 404


async def test_file_path_never_comes_from_request(client, admin, storage, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not an export")
    export = await finished_export(client, admin, storage)

    response = await client.get(
        with_query(export["url"], key=str(secret), storage_key="../secret.txt", path=str(secret))
    )

    row = await Export.get(id=pk_of(export))
    assert response.status_code == 200
    assert response.content == storage.path(row.storage_key).read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/exports/..%2F..%2Fsecret.txt/download",
        "/exports/1/../../secret.txt",
        "/exports/x/download",
    ],
    ids=["encoded-traversal", "dot-segments", "not-a-number"],
)
async def test_path_other_than_export_id_is_not_found(client, path):
    response = await client.get(path)

    assert response.status_code == 404


@pytest.mark.parametrize("key", ["../outside.csv", "/etc/passwd", "1/../../outside.csv"])
def test_storage_rejects_key_outside_root(storage, key):
    with pytest.raises(ValueError, match="points outside"):
        storage.path(key)


async def test_export_past_retention_not_found(client, admin, storage):
    export = await finished_export(client, admin, storage)
    await Export.filter(id=pk_of(export)).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    response = await client.get(export["url"])

    assert response.status_code == 404


async def test_download_streams_a_file_larger_than_one_chunk(client, admin, storage):
    export = await finished_export(client, admin, storage)
    row = await Export.get(id=pk_of(export))
    content = b"booking_reference\n" + b"x" * (3 * CHUNK_SIZE + 17)
    storage.path(row.storage_key).write_bytes(content)

    response = await client.get(export["url"])

    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(content))
    assert response.content == content
