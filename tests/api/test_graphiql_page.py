"""The GraphiQL page at GET /graphql: served from this package's files, with working examples."""

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.graphiql import DEMO_ADMIN_EMAIL
from api.seeding.layout import DEMO_PASSWORD
from api.settings import Environment, Settings
from models.commands.auth import sign_in
from models.enums import Role
from tests.factories import PASSWORD, World

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CONFIG = re.compile(r'<script type="application/json" id="tourdesk-graphiql-config">(.*?)</script>')
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def app_client(environment: Environment) -> httpx.AsyncClient:
    # The `db` fixture has connected Tortoise, so the app must not manage the database itself.
    # createExport waits at most 10 ms for a worker, which this app does not start.
    settings = Settings(
        env=environment, secret_key="k" * 40, export_wait=timedelta(milliseconds=10)
    )
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://tourdesk.test")


@pytest.fixture
async def client(db: str) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(Environment.DEVELOPMENT) as client:
        yield client


def page_config(page: httpx.Response) -> dict[str, Any]:
    match = CONFIG.search(page.text)
    assert match is not None
    config: dict[str, Any] = json.loads(match.group(1))
    return config


async def test_page_is_graphiql_with_content_security_policy(client):
    page = await client.get("/graphql", headers=HTML)

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert "static/graphiql/graphiql.min.js" in page.text


async def test_page_loads_nothing_from_other_hosts(client):
    page = await client.get("/graphql", headers=HTML)

    assets = ASSET.findall(page.text)
    assert len(assets) == 6
    assert [asset for asset in assets if "//" in asset or asset.startswith("/")] == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/graphiql/graphiql.min.css", "text/css"),
        ("/static/tourdesk-graphiql.css", "text/css"),
        ("/static/graphiql/react.production.min.js", "text/javascript"),
        ("/static/graphiql/react-dom.production.min.js", "text/javascript"),
        ("/static/graphiql/graphiql.min.js", "text/javascript"),
        ("/static/tourdesk-graphiql.js", "text/javascript"),
    ],
    ids=["graphiql-css", "page-css", "react", "react-dom", "graphiql", "page-script"],
)
async def test_page_assets_are_served(client, path, content_type):
    page = await client.get("/graphql", headers=HTML)

    response = await client.get(path)

    assert path.removeprefix("/") in ASSET.findall(page.text)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)


async def test_page_script_json_cannot_close_its_element(client):
    page = await client.get("/graphql", headers=HTML)

    match = CONFIG.search(page.text)

    assert match is not None
    assert "<" not in match.group(1)


async def test_sign_in_form_starts_with_demo_admin(client):
    page = await client.get("/graphql", headers=HTML)

    assert page_config(page)["signIn"] == {"email": DEMO_ADMIN_EMAIL, "password": DEMO_PASSWORD}


async def test_examples_run_without_errors(client, world: World):
    admin = world.user("alpine", Role.ADMIN)
    signed_in = await sign_in(admin.email, PASSWORD, token_ttl=timedelta(hours=1))
    page = await client.get("/graphql", headers=HTML)
    examples = page_config(page)["examples"]

    results = {}
    for example in examples:
        variables = json.loads(example["variables"] or "{}")
        response = await client.post(
            "/graphql",
            json={"query": example["query"], "variables": variables},
            headers={"Authorization": f"Bearer {signed_in.token}"},
        )
        results[example["title"]] = response.json()

    assert list(results) == ["Bookings page", "Guests list with filters", "Export guests as CSV"]
    errors = {title: result["errors"] for title, result in results.items() if "errors" in result}
    assert errors == {}
    assert results["Export guests as CSV"]["data"]["createExport"]["errors"] == []


async def test_production_serves_no_graphiql(db: str):
    async with app_client(Environment.PRODUCTION) as client:
        page = await client.get("/graphql", headers=HTML)
        asset = await client.get("/static/graphiql/graphiql.min.js")

    assert page.status_code == 404
    assert asset.status_code == 404
