"""GraphQL over HTTP at /graphql: media types, status codes and GET requests."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.graphql_over_http import encode_json
from api.settings import Environment, Settings
from models.commands.auth import sign_in
from models.enums import Role
from models.exports import Export
from tests.factories import PASSWORD, World, add_booking

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"

TYPENAME = "{ __typename }"
VIEWER = "query { viewer { email } }"
TYPE_BY_NAME = "query Type($name: String!) { __type(name: $name) { name } }"
GUIDED_BOOKINGS = "query { bookings(first: 10) { nodes { reference buyer { email } } } }"
CREATE_EXPORT = "mutation { createExport(input: {list: GUESTS}) { export { id } errors { code } } }"
QUERY_AND_MUTATION = """
query Viewer { viewer { email } }
mutation Export { createExport(input: {list: GUESTS}) { export { id } } }
"""
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
EXPORT_UPDATED = 'subscription { exportUpdated(id: "RXhwb3J0OjE=") { status } }'


@pytest.fixture
async def client(db: str) -> AsyncIterator[httpx.AsyncClient]:
    # The `db` fixture has connected Tortoise, so the app must not manage the database itself.
    app = create_app(Settings(env=Environment.TEST), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tourdesk.test") as client:
        yield client


@pytest.fixture
async def admin_token(world: World) -> str:
    admin = world.user("alpine", Role.ADMIN)
    signed_in = await sign_in(admin.email, PASSWORD, token_ttl=timedelta(hours=1))
    return signed_in.token


async def post(
    client: httpx.AsyncClient, body: dict[str, Any] | str, *, accept: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if accept is not None:
        headers["Accept"] = accept
    content = body if isinstance(body, str) else None
    payload = None if isinstance(body, str) else body
    return await client.post("/graphql", json=payload, content=content, headers=headers)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        (JSON, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("text/plain", JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON};q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, */*;q=0.1", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, */*", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, */*", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=bad, {JSON}", JSON),
    ],
    ids=[
        "no-accept",
        "json",
        "any",
        "any-application",
        "neither",
        "graphql-response",
        "graphql-response-with-charset",
        "graphql-response-preferred",
        "both-equal",
        "json-preferred",
        "graphql-response-over-wildcard",
        "wildcard-preferred",
        "graphql-response-refused",
        "malformed-quality-ignored",
    ],
)
async def test_response_media_type_follows_accept(client, accept, expected):
    response = await post(client, {"query": TYPENAME}, accept=accept)

    assert response.status_code == 200
    assert media_type(response) == expected
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON])
async def test_content_type_declares_utf8(client, accept):
    response = await post(client, {"query": TYPENAME}, accept=accept)

    assert response.headers["content-type"] == f"{accept}; charset=utf-8"


REQUEST_ERRORS = [
    ({"query": "{ viewer { email }"}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ noSuchField }"}, "BAD_USER_INPUT"),
    ({"query": NODE, "variables": {"id": None}}, "BAD_USER_INPUT"),
]
REQUEST_ERROR_IDS = ["parse-failure", "validation-failure", "variable-coercion-failure"]


@pytest.mark.parametrize(("body", "code"), REQUEST_ERRORS, ids=REQUEST_ERROR_IDS)
async def test_request_error_is_400_without_data(client, body, code):
    response = await post(client, body, accept=GRAPHQL_RESPONSE_JSON)

    assert response.status_code == 400
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    assert "data" not in response.json()
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [code]


@pytest.mark.parametrize(("body", "code"), REQUEST_ERRORS, ids=REQUEST_ERROR_IDS)
async def test_request_error_is_200_for_json_clients(client, body, code):
    response = await post(client, body, accept=JSON)

    assert response.status_code == 200
    assert media_type(response) == JSON
    assert response.json()["data"] is None
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [code]


async def test_field_error_with_null_data_is_200(client, world):
    # Without a token, the non-null `viewer` field fails and nulls the whole result.

    response = await post(client, {"query": VIEWER}, accept=GRAPHQL_RESPONSE_JSON)

    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["path"] == ["viewer"]
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_partial_result_is_200(client, world):
    admin = world.user("alpine", Role.ADMIN)
    guide = world.user("alpine", Role.GUIDE)
    await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)
    signed_in = await sign_in(guide.email, PASSWORD, token_ttl=timedelta(hours=1))
    headers = {"Authorization": f"Bearer {signed_in.token}", "Accept": GRAPHQL_RESPONSE_JSON}

    # A guide reads the bookings of departures they guide, but not their buyers.
    response = await client.post("/graphql", json={"query": GUIDED_BOOKINGS}, headers=headers)

    assert response.status_code == 200
    assert response.json()["data"]["bookings"]["nodes"][0]["buyer"] is None
    assert response.json()["errors"][0]["path"] == ["bookings", "nodes", 0, "buyer"]
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (GRAPHQL_RESPONSE_JSON, f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"),
        (JSON, f"{JSON}; charset=utf-8"),
    ],
    ids=["graphql-response", "json"],
)
@pytest.mark.parametrize(
    "body",
    [
        '{"query": "{ __typename }"',
        '{"variables": {}}',
        '{"query": 5}',
        '{"query": "{ __typename }", "operationName": {"name": "Query"}}',
        '["not", "an object"]',
    ],
    ids=[
        "malformed-json",
        "missing-query",
        "query-not-a-string",
        "operation-name-not-a-string",
        "batch",
    ],
)
async def test_malformed_request_is_400_with_graphql_errors(client, accept, content_type, body):
    response = await post(client, body, accept=accept)

    assert response.status_code == 400
    assert response.headers["content-type"] == content_type
    assert "data" not in response.json()
    assert response.json()["errors"][0]["message"]
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, JSON, None], ids=str)
async def test_get_mutation_is_405_and_does_not_run(client, admin_token, accept):
    headers = {"Authorization": f"Bearer {admin_token}"}
    if accept is not None:
        headers["Accept"] = accept

    response = await client.get("/graphql", params={"query": CREATE_EXPORT}, headers=headers)

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["message"] == (
        "Mutations are not allowed when using GET; send them with POST."
    )
    assert await Export.all().count() == 0


async def test_get_runs_selected_query(client, admin_token, world):
    params = {"query": QUERY_AND_MUTATION, "operationName": "Viewer"}
    headers = {"Authorization": f"Bearer {admin_token}", "Accept": GRAPHQL_RESPONSE_JSON}

    response = await client.get("/graphql", params=params, headers=headers)

    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"email": "admin@alpine.example"}}}
    assert await Export.all().count() == 0


async def test_get_selected_mutation_is_405(client, admin_token):
    params = {"query": QUERY_AND_MUTATION, "operationName": "Export"}
    headers = {"Authorization": f"Bearer {admin_token}"}

    response = await client.get("/graphql", params=params, headers=headers)

    assert response.status_code == 405
    assert await Export.all().count() == 0


async def test_post_mutation_runs(client, admin_token):
    headers = {"Authorization": f"Bearer {admin_token}", "Accept": GRAPHQL_RESPONSE_JSON}

    response = await client.post("/graphql", json={"query": CREATE_EXPORT}, headers=headers)

    assert response.status_code == 200
    assert response.json()["data"]["createExport"]["errors"] == []
    assert await Export.all().count() == 1


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_empty_operation_name_means_none(client, method):
    request = {"query": TYPENAME, "operationName": ""}
    if method == "GET":
        response = await client.get("/graphql", params=request)
    else:
        response = await client.post("/graphql", json=request)

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_query_with_variables(client):
    params = {"query": TYPE_BY_NAME, "variables": '{"name": "Booking"}'}

    response = await client.get("/graphql", params=params, headers={"Accept": JSON})

    assert response.status_code == 200
    assert response.json() == {"data": {"__type": {"name": "Booking"}}}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_subscription_over_http_is_400(client, admin_token, caplog, method):
    headers = {"Authorization": f"Bearer {admin_token}", "Accept": GRAPHQL_RESPONSE_JSON}
    if method == "GET":
        request = client.get("/graphql", params={"query": EXPORT_UPDATED}, headers=headers)
    else:
        request = client.post("/graphql", json={"query": EXPORT_UPDATED}, headers=headers)

    response = await request

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(
        "Subscriptions are served over WebSocket only"
    )
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == []


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'"hi"', 400, "The JSON body must be an object with a `query` string."),
        (b"null", 400, "The JSON body must be an object with a `query` string."),
        (b"[" * 100_000 + b"]" * 100_000, 400, "The JSON body is nested too deeply."),
        (b"x" * (1024 * 1024 + 1), 413, "The request body is larger than 1048576 bytes"),
    ],
    ids=["string", "null", "deeply-nested", "too-large"],
)
async def test_bad_body_gets_clear_error(client, body, status, message):
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == status
    assert response.json()["errors"][0]["message"].startswith(message)


async def test_lone_surrogate_gets_clear_error(client):
    body = b'{"query": "query($s: String!) { guests(filter: {search: $s}) { totalCount } }",'
    body += b' "variables": {"s": "\\ud800"}}'

    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert "not valid Unicode" in response.json()["errors"][0]["message"]


def test_encode_json_keeps_non_ascii_text():
    assert encode_json({"lastName": "Müller"}) == '{"lastName":"Müller"}'


def test_encode_json_takes_integers_beyond_64_bits():
    # A JSON scalar, such as a custom-field answer, may hold any integer.
    assert encode_json({"answer": 2**70}) == '{"answer":1180591620717411303424}'
