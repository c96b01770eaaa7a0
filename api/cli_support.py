"""Helpers every `tourdesk` command uses: settings, the event loop and one-line errors.

Every failure the operator can fix is printed as one line starting with "Error:" on stderr, with
exit code 2.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from pydantic import ValidationError

from api.database import DATABASE_ERRORS, describe_database_error
from api.seed import SeedError
from api.settings import Settings, get_settings
from models.errors import DomainError, InputErrors

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CommandError(Exception):
    """A failure the operator can fix. The command prints its message as it is."""


def fail(*messages: str) -> NoReturn:
    for message in messages:
        typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as error:
        fail(*(_setting_error(detail["loc"], detail["msg"]) for detail in error.errors()))


def _setting_error(location: tuple[int | str, ...], message: str) -> str:
    variable = "TOURDESK_" + "_".join(map(str, location)).upper()
    message = message.removeprefix("Value error, ")
    return message if variable in message else f"{variable} is invalid: {message}."


def run_async(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` on a new event loop, and print each database or command error in one line."""
    try:
        return asyncio.run(_call(work))
    except (CommandError, SeedError) as error:
        fail(str(error))
    except InputErrors as errors:
        fail(*(error.message for error in errors.errors))
    except DomainError as error:
        fail(error.message)
    except DATABASE_ERRORS as error:
        logger.debug("Database command failed", exc_info=True)
        fail(describe_database_error(settings.database_url, error))


async def _call(work: Callable[[], Awaitable[T]]) -> T:
    return await work()
