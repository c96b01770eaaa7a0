"""Depth, alias and token limits, error masking and introspection switching."""

import logging

import pytest
from strawberry.types import ExecutionResult

from models.catalog import CustomField
from models.enums import Role
from schema.context import Context
from schema.dataloaders import build_loaders
from schema.schema import GuardRails, build_schema
from tests.factories import viewer_for
from tests.helpers import execute

DEEP = """
query {
  guests(first: 1) { nodes { booking { guests { booking { guests { booking { guests {
    booking { guests { booking { guests { booking { reference } } } } } } } } } } } } }
}
"""

MANY_ALIASES = "query { " + " ".join(f"a{i}: viewer {{ email }}" for i in range(40)) + " }"

INTROSPECTION = "query { __schema { queryType { name } } }"

VIEWER = "query { viewer { email } }"


async def run(schema_rails: GuardRails, document: str, user=None) -> ExecutionResult:
    viewer = await viewer_for(user) if user else None
    schema = build_schema(schema_rails)
    return await schema.execute(
        document, context_value=Context(viewer=viewer, loaders=build_loaders(viewer))
    )


async def test_deep_document_is_rejected(world):
    result = await execute(world.user("alpine", Role.ADMIN), DEEP)

    assert result.data is None
    assert "exceeds maximum operation depth" in result.messages[0]
    # The nested lists also exceed the cost limit, which reports its own error.
    assert set(result.codes) == {"BAD_USER_INPUT"}


async def test_many_aliases_are_rejected(world):
    result = await execute(world.user("alpine", Role.ADMIN), MANY_ALIASES)

    assert "aliases" in result.messages[0]
    assert result.codes == ["BAD_USER_INPUT"]


async def test_long_document_is_rejected(world):
    document = "query { " + " ".join("viewer { email }" for _ in range(2000)) + " }"

    result = await execute(world.user("alpine", Role.ADMIN), document)

    assert "token" in result.messages[0].lower()


async def test_syntax_error_has_parse_code(world):
    result = await execute(world.user("alpine", Role.ADMIN), "query { viewer { ")

    assert result.codes == ["GRAPHQL_PARSE_FAILED"]


async def test_introspection_can_be_switched_off(world):
    result = await run(GuardRails(introspection=False), INTROSPECTION)

    assert result.data is None
    assert result.errors


async def test_introspection_is_on_by_default(world):
    result = await run(GuardRails(), INTROSPECTION)

    assert result.data == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.fixture
def broken_viewer_query(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("secret detail from a bug")

    monkeypatch.setattr("schema.users.queries.User.from_row", explode)


@pytest.mark.usefixtures("broken_viewer_query")
async def test_unexpected_error_is_masked_and_logged(world, caplog):
    caplog.set_level(logging.ERROR, logger="schema.schema")

    result = await run(
        GuardRails(mask_unexpected_errors=True), VIEWER, world.user("alpine", Role.ADMIN)
    )

    assert result.errors
    assert result.errors[0].message == "Unexpected error."
    assert result.errors[0].extensions == {"code": "INTERNAL_SERVER_ERROR"}
    assert "secret detail from a bug" in caplog.text


@pytest.mark.usefixtures("broken_viewer_query")
async def test_unexpected_error_is_shown_when_masking_is_off(world):
    result = await run(
        GuardRails(mask_unexpected_errors=False), VIEWER, world.user("alpine", Role.ADMIN)
    )

    assert result.errors
    assert result.errors[0].message == "secret detail from a bug"


async def test_value_a_scalar_rejects_is_masked(world):
    # Options are JSON in the database, so a row written outside the API may hold an object.
    await CustomField.filter(id=world.fields["weight_kg"].id).update(options=["kg", {"unit": "kg"}])

    result = await run(
        GuardRails(mask_unexpected_errors=True),
        "query { customFields { key options } }",
        world.user("alpine", Role.ADMIN),
    )

    assert result.errors
    assert result.errors[0].message == "Unexpected error."
    assert result.errors[0].extensions == {"code": "INTERNAL_SERVER_ERROR"}
