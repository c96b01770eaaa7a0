"""Signing in and out over HTTP: bearer tokens, lockout, revocation and how tokens are stored."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tortoise import Tortoise

from api.app import create_app
from api.settings import Environment, Settings
from models.commands.auth import FREE_SIGN_IN_ATTEMPTS, TOKEN_PREFIX
from models.enums import Role
from models.users import AccessToken, SignInThrottle, User
from schema.relay import to_global_id
from tests.factories import PASSWORD, World

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { token expiresAt user { email } errors { field code message } }
}
"""

LOGOUT = "mutation { logout { revoked } }"

VIEWER = "query { viewer { email } }"

DEACTIVATE_USER = """
mutation DeactivateUser($input: DeactivateUserInput!) {
  deactivateUser(input: $input) { user { isActive } errors { field code message } }
}
"""

WRONG_PASSWORD = "not the password"


@pytest.fixture
async def client(db: str) -> AsyncIterator[httpx.AsyncClient]:
    # The `db` fixture has connected Tortoise, so the app must not manage the database itself.
    app = create_app(Settings(env=Environment.TEST), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tourdesk.test") as client:
        yield client


@pytest.fixture
def user(world: World) -> User:
    return world.user("alpine", Role.EMPLOYEE)


async def post(
    client: httpx.AsyncClient,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    payload = {"query": document, "variables": variables or {}}
    return await client.post("/graphql", json=payload, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await post(client, LOGIN, {"input": {"email": email, "password": password}})
    assert response.status_code == 200
    payload: dict[str, Any] = response.json()["data"]["login"]
    return payload


async def token_of(client: httpx.AsyncClient, user: User) -> str:
    payload = await login(client, user.email, PASSWORD)
    token: str = payload["token"]
    return token


def error_codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


async def test_login_returns_working_bearer_token(client, user):
    payload = await login(client, user.email, PASSWORD)

    response = await post(client, VIEWER, headers=bearer(payload["token"]))

    assert payload["errors"] == []
    assert payload["user"] == {"email": user.email}
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"email": user.email}}}


async def test_login_token_expires_after_configured_lifetime(client, user):
    before = datetime.now(UTC)

    payload = await login(client, user.email, PASSWORD)

    expires_at = datetime.fromisoformat(payload["expiresAt"])
    lifetime = timedelta(hours=Settings(env=Environment.TEST).token_ttl_hours)
    assert before + lifetime <= expires_at <= datetime.now(UTC) + lifetime


async def test_login_ignores_email_case(client, user):
    payload = await login(client, user.email.upper(), PASSWORD)

    assert payload["errors"] == []


async def test_bearer_scheme_is_case_insensitive(client, user):
    token = await token_of(client, user)

    response = await post(client, VIEWER, headers={"Authorization": f"bearer {token}"})

    assert response.json() == {"data": {"viewer": {"email": user.email}}}


async def test_wrong_email_and_wrong_password_look_the_same(client, user):
    wrong_email = await post(
        client, LOGIN, {"input": {"email": "nobody@alpine.example", "password": PASSWORD}}
    )
    wrong_password = await post(
        client, LOGIN, {"input": {"email": user.email, "password": WRONG_PASSWORD}}
    )

    assert wrong_email.status_code == wrong_password.status_code == 200
    assert wrong_email.json() == wrong_password.json()
    assert wrong_email.json()["data"]["login"]["token"] is None
    assert [e["code"] for e in wrong_email.json()["data"]["login"]["errors"]] == [
        "INVALID_CREDENTIALS"
    ]


async def test_deactivated_user_cannot_login(client, user):
    await User.filter(id=user.id).update(is_active=False)

    payload = await login(client, user.email, PASSWORD)

    assert payload["token"] is None
    assert [error["code"] for error in payload["errors"]] == ["INVALID_CREDENTIALS"]


async def test_repeated_failures_lock_the_account(client, user):
    failures = [
        await login(client, user.email, WRONG_PASSWORD) for _ in range(FREE_SIGN_IN_ATTEMPTS)
    ]

    locked = await login(client, user.email, PASSWORD)

    assert [f["errors"][0]["code"] for f in failures] == ["INVALID_CREDENTIALS"] * len(failures)
    assert locked["token"] is None
    assert [error["code"] for error in locked["errors"]] == ["TOO_MANY_ATTEMPTS"]


async def test_unknown_email_locks_like_an_account(client, user):
    unknown = "nobody@alpine.example"
    for _ in range(FREE_SIGN_IN_ATTEMPTS):
        for email in (user.email, unknown):
            await login(client, email, WRONG_PASSWORD)

    # The throttle rows, not the answers, are compared: the first lock lasts about a second,
    # which a slow machine can spend on the password checks before a next answer arrives.
    account = await SignInThrottle.get(email_key=user.email)
    unknown_email = await SignInThrottle.get(email_key=unknown)

    assert account.failures == unknown_email.failures == FREE_SIGN_IN_ATTEMPTS
    assert account.locked_until is not None
    assert unknown_email.locked_until is not None
    assert abs(unknown_email.locked_until - account.locked_until) < timedelta(seconds=5)


async def test_account_lock_expires(client, user):
    for _ in range(FREE_SIGN_IN_ATTEMPTS):
        await login(client, user.email, WRONG_PASSWORD)
    throttle = await SignInThrottle.get(email_key=user.email)
    assert throttle.locked_until is not None
    # The first lock lasts about a second; wait it out for real rather than rewrite the row.
    await asyncio.sleep((throttle.locked_until - datetime.now(UTC)).total_seconds() + 0.1)

    payload = await login(client, user.email, PASSWORD)

    assert payload["errors"] == []
    assert payload["token"]
    assert not await SignInThrottle.exists(email_key=user.email)


async def test_logout_revokes_the_token(client, user):
    token = await token_of(client, user)

    logout = await post(client, LOGOUT, headers=bearer(token))
    after = await post(client, VIEWER, headers=bearer(token))

    assert logout.json() == {"data": {"logout": {"revoked": True}}}
    assert error_codes(after) == ["UNAUTHENTICATED"]


async def test_logout_leaves_other_tokens_working(client, user):
    first = await token_of(client, user)
    second = await token_of(client, user)

    await post(client, LOGOUT, headers=bearer(first))
    response = await post(client, VIEWER, headers=bearer(second))

    assert response.json() == {"data": {"viewer": {"email": user.email}}}


async def test_expired_token_is_rejected(client, user):
    token = await token_of(client, user)
    await AccessToken.filter(user_id=user.id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )

    response = await post(client, VIEWER, headers=bearer(token))

    assert error_codes(response) == ["UNAUTHENTICATED"]


async def test_token_of_deactivated_user_is_rejected(client, world, user):
    token = await token_of(client, user)
    admin_token = await token_of(client, world.user("alpine", Role.ADMIN))

    deactivated = await post(
        client,
        DEACTIVATE_USER,
        {"input": {"id": to_global_id("User", user.id)}},
        headers=bearer(admin_token),
    )
    response = await post(client, VIEWER, headers=bearer(token))

    assert deactivated.json()["data"]["deactivateUser"]["user"] == {"isActive": False}
    assert error_codes(response) == ["UNAUTHENTICATED"]


async def test_token_of_user_deactivated_in_database_is_rejected(client, user):
    # Deactivating through the API also revokes the tokens, so this test clears only the flag.
    token = await token_of(client, user)
    await User.filter(id=user.id).update(is_active=False)

    response = await post(client, VIEWER, headers=bearer(token))

    assert error_codes(response) == ["UNAUTHENTICATED"]


MALFORMED_HEADERS = {
    "scheme only": "Bearer",
    "empty token": "Bearer    ",
    "basic scheme": "Basic dXNlcjpwYXNzd29yZA==",
    "token without scheme": "{token}",
    "other scheme": "Token {token}",
    "unknown token": "Bearer td_not-a-real-token",
    "token without prefix": "Bearer not-a-real-token",
    "trailing garbage": "Bearer {token} extra",
    "empty": "",
}


@pytest.mark.parametrize("header", MALFORMED_HEADERS.values(), ids=MALFORMED_HEADERS.keys())
async def test_malformed_authorization_is_anonymous(client, user, header):
    token = await token_of(client, user)
    anonymous = await post(client, VIEWER)

    response = await post(client, VIEWER, headers={"Authorization": header.format(token=token)})

    assert response.status_code == 200
    assert response.json() == anonymous.json()
    assert error_codes(response) == ["UNAUTHENTICATED"]


async def test_malformed_authorization_still_allows_login(client, user):
    response = await post(
        client,
        LOGIN,
        {"input": {"email": user.email, "password": PASSWORD}},
        headers={"Authorization": "Bearer"},
    )

    assert response.json()["data"]["login"]["token"]


async def test_token_is_stored_only_as_sha256(client, user):
    token = await token_of(client, user)

    stored = await AccessToken.get(user_id=user.id)

    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()


async def test_database_never_holds_token_text(client, user):
    token = await token_of(client, user)
    await post(client, VIEWER, headers=bearer(token))
    await post(client, LOGOUT, headers=bearer(token))
    secret = token.removeprefix(TOKEN_PREFIX)

    tables_holding_secret = []
    for name, model in Tortoise.apps["models"].items():
        for row in await model.all().values():
            if any(secret in str(value) for value in row.values()):
                tables_holding_secret.append(name)

    assert tables_holding_secret == []


async def test_parallel_guesses_cannot_outrun_the_lock(client, user):
    attempts = await asyncio.gather(
        *(login(client, user.email, WRONG_PASSWORD) for _ in range(3 * FREE_SIGN_IN_ATTEMPTS))
    )

    codes = [attempt["errors"][0]["code"] for attempt in attempts]
    assert codes.count("INVALID_CREDENTIALS") <= FREE_SIGN_IN_ATTEMPTS
    assert "TOO_MANY_ATTEMPTS" in codes


async def test_many_failures_keep_locking(client, user):
    await SignInThrottle.create(email_key=user.email, failures=500)

    payload = await login(client, user.email, WRONG_PASSWORD)
    locked = await login(client, user.email, PASSWORD)

    assert [error["code"] for error in payload["errors"]] == ["INVALID_CREDENTIALS"]
    assert [error["code"] for error in locked["errors"]] == ["TOO_MANY_ATTEMPTS"]
