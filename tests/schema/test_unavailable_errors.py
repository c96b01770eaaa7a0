"""Which errors mean that the database is unavailable, and the code they get."""

import asyncpg
import pytest
from graphql import GraphQLError
from tortoise.exceptions import DBConnectionError, OperationalError, TransactionManagementError

from schema.errors import error_code, is_database_unavailable, is_unexpected


def chained(error: Exception, cause: BaseException) -> Exception:
    """Return `error` as if raised while handling `cause`."""
    error.__context__ = cause
    return error


def caused_by(error: Exception, cause: BaseException) -> Exception:
    """Return `error` as if raised with `raise error from cause`, as Tortoise wraps errors."""
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
        OSError("Multiple exceptions: [Errno 111] Connect call failed"),
        TimeoutError(),
        DBConnectionError("Can't establish connection to database tourdesk"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
        chained(
            asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
            asyncpg.ConnectionDoesNotExistError("connection was closed"),
        ),
        caused_by(
            OperationalError("terminating connection"),
            asyncpg.AdminShutdownError("terminating connection"),
        ),
    ],
    ids=lambda error: type(error).__name__,
)
def test_connection_error_is_unavailable(error: Exception):
    graphql_error = GraphQLError("failed", path=["bookings"], original_error=error)

    assert is_database_unavailable(error)
    assert error_code(graphql_error) == "SERVICE_UNAVAILABLE"
    assert not is_unexpected(graphql_error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad value"),
        OperationalError("syntax error at or near SELECT"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        TransactionManagementError("Transaction already finalised"),
        chained(ValueError("bad value"), ConnectionResetError()),
    ],
    ids=lambda error: f"{type(error).__name__}-{error}"[:40],
)
def test_other_error_is_not_unavailable(error: Exception):
    graphql_error = GraphQLError("failed", path=["bookings"], original_error=error)

    assert not is_database_unavailable(error)
    assert error_code(graphql_error) == "INTERNAL_SERVER_ERROR"
