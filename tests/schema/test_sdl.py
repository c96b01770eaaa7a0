"""The committed SDL and the documentation of the schema."""

from pathlib import Path

from graphql import (
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
)

from schema.schema import schema

SDL_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def undocumented_parts() -> list[str]:
    """List the types, fields and arguments without a description, which GraphiQL shows."""
    missing = []
    graphql_schema = schema._schema
    for name, named_type in graphql_schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not named_type.description:
            missing.append(name)
        if isinstance(named_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for argument_name, argument in field.args.items():
                    if not argument.description:
                        missing.append(f"{name}.{field_name}({argument_name})")
        if isinstance(named_type, GraphQLInputObjectType):
            for field_name, field in named_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
    return missing


def test_committed_sdl_is_current():
    committed = SDL_FILE.read_text(encoding="utf-8")

    current = schema.as_str() + "\n"

    assert committed == current, (
        "schema.graphql is stale; regenerate it with `tourdesk schema > schema.graphql` "
        "and commit the result."
    )


def test_every_type_field_and_argument_has_a_description():
    assert undocumented_parts() == []
