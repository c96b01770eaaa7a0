"""Errors raised by the domain layer; the API turns them into GraphQL errors and user errors."""

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    DUPLICATE = "DUPLICATE"
    CAPACITY_EXCEEDED = "CAPACITY_EXCEEDED"
    ALREADY_CANCELLED = "ALREADY_CANCELLED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    LAST_ADMIN = "LAST_ADMIN"


class DomainError(Exception):
    """Base class of the errors the API reports to the client as they are."""

    code: ErrorCode = ErrorCode.BAD_USER_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The object does not exist or the viewer may not see it; the two are not told apart."""

    code = ErrorCode.NOT_FOUND


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class InvalidArgument(DomainError):
    """A query argument is invalid; the whole query fails with BAD_USER_INPUT."""

    code = ErrorCode.BAD_USER_INPUT


class InputError(DomainError):
    """A mutation input is invalid; reported in the payload's `errors` list, nothing is written."""

    def __init__(self, field: str, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class InputErrors(Exception):
    """Several input errors found together, so the client can fix them all in one round trip."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors
