"""Running GraphQL documents in-process as a given user."""

from dataclasses import dataclass
from typing import Any

from strawberry.types import ExecutionResult

from models.users import User
from schema.context import Context, ExportService
from schema.dataloaders import build_loaders
from schema.schema import GuardRails, build_schema
from tests.factories import viewer_for

SCHEMA = build_schema(GuardRails(mask_unexpected_errors=True))


@dataclass
class Result:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]

    @property
    def codes(self) -> list[str]:
        return [error.get("extensions", {}).get("code", "") for error in self.errors]

    @property
    def messages(self) -> list[str]:
        return [error["message"] for error in self.errors]


async def execute(
    user: User | None,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    exports: ExportService | None = None,
) -> Result:
    """Run `document` as `user`, as if the request carried the bearer token `token`.

    `exports` is the export service the server would provide; export fields need one.
    """
    viewer = await viewer_for(user) if user else None
    context = Context(viewer=viewer, loaders=build_loaders(viewer), token=token, exports=exports)
    result: ExecutionResult = await SCHEMA.execute(
        document, variable_values=variables, context_value=context
    )
    errors = [dict(error.formatted) for error in result.errors or []]
    return Result(data=result.data, errors=errors)
