"""User errors in mutation payloads, and the codes and masking of GraphQL errors."""

from enum import StrEnum

import asyncpg
import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from tortoise.exceptions import BaseORMException, DBConnectionError

from models.errors import DomainError, ErrorCode, InputErrors
from models.postgres_pool import DatabaseBusy

UserErrorCode = strawberry.enum(
    ErrorCode, name="UserErrorCode", description="Why a mutation input was rejected."
)


@strawberry.type(description="A problem with one field of a mutation's input.")
class UserError:
    field: str = strawberry.field(
        description="Path of the input field, such as `guests.0.lastName`; `input` for the whole."
    )
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")
    message: str = strawberry.field(description="What is wrong and how to fix it, in English.")


def user_errors(error: InputErrors) -> list[UserError]:
    return [UserError(field=e.field, code=e.code, message=e.message) for e in error.errors]


class GraphQLErrorCode(StrEnum):
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


DATABASE_UNAVAILABLE_MESSAGE = (
    "The database is unavailable at the moment; retry the request in a few seconds."
)

# Errors that mean the database could not be reached or dropped the connection, as opposed to a
# statement that failed: the server is down or restarting, the network failed, or the session
# was terminated. A connection attempt that times out raises TimeoutError, an OSError.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    DBConnectionError,
    OSError,
    # SQLSTATE class 08, including a connection closed in the middle of a statement.
    asyncpg.PostgresConnectionError,
    # 57P01, 57P02 and 57P03: the server is shutting down, crashed, or is still starting.
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    # 53300: every connection slot of the server is taken.
    asyncpg.TooManyConnectionsError,
    # asyncpg 0.32 can leave a connection in a broken protocol state after the server ended its
    # session. Its next statement raises this error, and the pool then closes the connection.
    asyncpg.InternalClientError,
)


def is_database_unavailable(error: BaseException | None) -> bool:
    """Tell whether an error means that the database could not be reached.

    When a transaction's connection dies, Tortoise's rollback fails on it too and raises
    asyncpg's `InterfaceError: connection is closed`, so the causes of database errors count.
    """
    while error is not None:
        if isinstance(error, CONNECTION_ERRORS):
            return True
        if not isinstance(error, asyncpg.InterfaceError | BaseORMException):
            return False
        # asyncpg raises a plain InterfaceError for a statement on a connection that closed.
        if str(error).endswith("connection is closed"):
            return True
        error = error.__cause__ or error.__context__
    return False


def is_unexpected(error: GraphQLError) -> bool:
    """Tell whether an error comes from a bug rather than from the request."""
    original = error.original_error
    # A value that an output type rejects ("String cannot represent value: ...") is reported by
    # graphql-core as an error of its own without a location, and its message quotes the
    # stored value. Rejected arguments point at the argument in the document.
    if isinstance(original, GraphQLError) and error.path is not None:
        return not original.nodes and not original.extensions
    # A busy pool is load, not a bug, and its message asks the client to retry.
    if original is None or isinstance(original, DomainError | GraphQLError | DatabaseBusy):
        return False
    if is_database_unavailable(original):
        return False
    # Strawberry reports values that scalars cannot parse as ValueError or TypeError during
    # argument coercion, before any resolver runs; those have no path.
    return not (isinstance(original, ValueError | TypeError) and error.path is None)


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code.value
    if isinstance(original, DatabaseBusy) or is_database_unavailable(original):
        return GraphQLErrorCode.SERVICE_UNAVAILABLE.value
    if error.message.startswith("Syntax Error"):
        return GraphQLErrorCode.GRAPHQL_PARSE_FAILED.value
    if original is None or error.path is None:
        # Validation errors and variables that do not match their types.
        return ErrorCode.BAD_USER_INPUT.value
    return GraphQLErrorCode.INTERNAL_SERVER_ERROR.value


def tag_with_code(error: GraphQLError) -> None:
    """Set `extensions.code` on an error, keeping a code it already has."""
    extensions = dict(error.extensions or {})
    extensions.setdefault("code", error_code(error))
    error.extensions = extensions


class MaskUnexpectedErrors(MaskErrors):
    """Replace the message of unexpected errors, which may reveal internals, keeping the code.

    The schema logs those errors with their traceback before this runs, so the client sees a
    generic message and the operator sees the cause.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = error.extensions
        return masked
