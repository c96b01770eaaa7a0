"""The examples of the user guide and the README: valid, and they run.

Each ```graphql block is validated against `schema.graphql`. A ```json block right after it holds
its variables. Queries and mutations whose required variables all have values then run as
Alpine's admin in the test world. The IDs in the examples point at nothing there, so NOT_FOUND is
the one error code allowed. Subscriptions are validated only.

The Python client script of docs/clients.md runs against the real server.
"""

import asyncio
import json
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLError,
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    build_schema,
    parse,
    validate,
)

from models.enums import Role
from tests.api.exports.support import export_service
from tests.api.server import running_server
from tests.factories import PASSWORD, World, add_booking
from tests.helpers import execute

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLE = re.compile(
    r"```graphql\n(?P<document>.*?)```(?:\s*```json\n(?P<variables>.*?)```)?", re.S
)


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    document: str
    variables: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def operation(self) -> OperationDefinitionNode:
        operations = [
            definition
            for definition in parse(self.document).definitions
            if isinstance(definition, OperationDefinitionNode)
        ]
        assert len(operations) == 1, f"{self.name} holds {len(operations)} operations"
        return operations[0]

    @property
    def is_runnable(self) -> bool:
        try:
            operation = self.operation
        except GraphQLError:
            # test_example_is_valid reports the syntax error.
            return False
        required = [
            variable.variable.name.value
            for variable in operation.variable_definitions or ()
            if isinstance(variable.type, NonNullTypeNode) and variable.default_value is None
        ]
        is_subscription = operation.operation is OperationType.SUBSCRIPTION
        return not is_subscription and all(name in self.variables for name in required)


def collect_examples() -> list[Example]:
    examples = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in EXAMPLE.finditer(text):
            variables = json.loads(match["variables"]) if match["variables"] else {}
            examples.append(
                Example(
                    page=page.relative_to(ROOT).as_posix(),
                    line=text.count("\n", 0, match.start()) + 1,
                    document=match["document"],
                    variables=variables,
                )
            )
    return examples


EXAMPLES = collect_examples()
RUNNABLE = [example for example in EXAMPLES if example.is_runnable]


@cache
def committed_schema() -> GraphQLSchema:
    return build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))


def test_guide_has_examples():
    assert len(EXAMPLES) >= 20
    assert len(RUNNABLE) >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.name for example in EXAMPLES])
def test_example_is_valid(example: Example):
    errors = validate(committed_schema(), parse(example.document))

    assert [error.message for error in errors] == []


@pytest.mark.parametrize("example", RUNNABLE, ids=[example.name for example in RUNNABLE])
async def test_example_runs(world: World, example: Example):
    result = await execute(
        world.user("alpine", Role.ADMIN),
        example.document,
        example.variables,
        exports=export_service(),
    )

    assert [code for code in result.codes if code != "NOT_FOUND"] == [], result.errors


def python_script(page: Path) -> str:
    """Return the ```python block of `page` that is a whole script, with a `main`."""
    blocks: list[str] = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    scripts = [block for block in blocks if "def main()" in block]
    assert len(scripts) == 1, f"{page} holds {len(scripts)} scripts"
    return scripts[0]


def exported_files(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in folder.glob("*-guests-*.csv")}


async def test_python_client_script_exports_guests(world: World, db: str, tmp_path: Path):
    admin = world.user("alpine", Role.ADMIN)
    await add_booking(seller=world.alpine, departure=world.departure, created_by=admin)
    script = tmp_path / "client.py"
    script.write_text(python_script(ROOT / "docs" / "clients.md"), encoding="utf-8")

    with running_server(db, tmp_path) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            env={
                **os.environ,
                "TOURDESK_URL": server.base_url,
                "TOURDESK_EMAIL": admin.email,
                "TOURDESK_PASSWORD": PASSWORD,
            },
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, stderr.decode()
    files = exported_files(tmp_path)
    assert len(files) == 1, stdout.decode()
    assert next(iter(files.values())).startswith("booking_reference,")
