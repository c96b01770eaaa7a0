"""The `tourdesk` command: serve the API, migrate and seed the database, create users.

Every failure the operator can fix is printed as one line starting with "Error:" on stderr, with
exit code 2.
"""

import copy
import logging
import sys
import time
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from tortoise import Tortoise
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter

from api.cli_support import CommandError, fail, load_settings, run_async
from api.database import (
    config_for,
    connected,
    ensure_sqlite_directory,
    redact_url,
)
from api.export_command import export_app
from api.seed import (
    DEMO_PASSWORD,
    SeedError,
    SeedSummary,
    check_seed_allowed,
    seed_bookings,
    seed_demo,
)
from api.settings import Settings, SettingsError, resolve_secret_key
from models.commands import validation as check
from models.commands.users import UserInput
from models.commands.users import create_user as create_user_in
from models.enums import Role
from models.errors import InputError
from models.organizations import Organization
from models.passwords import MIN_PASSWORD_LENGTH
from models.users import User

logger = logging.getLogger(__name__)


# The packages `serve --reload` watches. Watching the whole working directory would also catch
# writes to the SQLite files under var/.
SOURCE_DIRS = [Path(__file__).resolve().parents[1] / name for name in ("api", "schema", "models")]

app = typer.Typer(
    name="tourdesk",
    help="Back-office GraphQL API for tour operators.",
    no_args_is_help=True,
    add_completion=False,
    # A traceback with local variables could print a password or the secret key.
    pretty_exceptions_show_locals=False,
)
user_app = typer.Typer(help="Manage back-office users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(export_app, name="export")


@app.callback()
def configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# ----------------------------------------------------------------------------------------------
# serve


class PathOnlyAccessFormatter(AccessFormatter):
    """Uvicorn's access log line without the query string.

    GraphQL queries sent with GET carry their variables in the query string, and those can hold
    names or emails, which must not reach the logs.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        stripped = copy.copy(record)
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            stripped.args = (client, method, str(path).split("?", 1)[0], version, status)
        return super().formatMessage(stripped)


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


def serve_log_config(log_format: LogFormat = LogFormat.JSON) -> dict[str, Any]:
    """Uvicorn's logging config plus the root logger, so tourdesk's own INFO logs are shown."""
    config = copy.deepcopy(LOGGING_CONFIG)
    if log_format is LogFormat.JSON:
        config["formatters"] = {"json": {"()": "api.logs.JsonFormatter"}}
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
    else:
        config["formatters"]["access"]["()"] = f"{__name__}.{PathOnlyAccessFormatter.__name__}"
    config["root"] = {"handlers": ["default"], "level": "INFO"}
    return config


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on. [default: TOURDESK_HOST, 127.0.0.1]")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="TCP port. [default: TOURDESK_PORT, 8000]"),
    ] = None,
    reload: Annotated[
        bool, typer.Option(help="Restart when a source file changes (development only).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes sharing the port; more than 1 needs PostgreSQL. "
            "Each opens up to TOURDESK_DATABASE_POOL_SIZE database connections."
        ),
    ] = 1,
    log_format: Annotated[
        LogFormat,
        typer.Option(help="json: one JSON object per line, for log collectors; text: for people."),
    ] = LogFormat.JSON,
) -> None:
    """Serve the GraphQL API with uvicorn."""
    settings = load_settings()
    # Checked here as well as in the app, so a bad key fails before uvicorn starts.
    try:
        resolve_secret_key(settings)
    except SettingsError as error:
        fail(str(error))
    check_workers(workers, settings, reload=reload)

    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        workers=workers,
        reload_dirs=[str(path) for path in SOURCE_DIRS] if reload else None,
        log_config=serve_log_config(log_format),
    )


def check_workers(workers: int, settings: Settings, *, reload: bool) -> None:
    """Exit with an error unless `workers` processes can serve the settings' database."""
    if workers < 1:
        fail(f"--workers is {workers}; use 1 or more server processes.")
    if workers == 1:
        return
    if settings.uses_sqlite:
        fail(
            f"--workers is {workers}, but SQLite supports one server process. Use --workers 1, "
            "or set TOURDESK_DATABASE_URL to a PostgreSQL database (see docs/deployment.md)."
        )
    if reload:
        fail(f"--reload runs one server process; drop --reload or --workers {workers}.")


# ----------------------------------------------------------------------------------------------
# migrate, makemigrations


@app.command()
def migrate() -> None:
    """Apply the migrations in models/migrations that the database does not have yet."""
    settings = load_settings()
    applied = run_async(settings, lambda: _apply_migrations(settings))
    database = redact_url(settings.database_url)
    if applied:
        noun = "migration" if len(applied) == 1 else "migrations"
        typer.echo(f"Applied {len(applied)} {noun} to {database}: {', '.join(applied)}.")
    else:
        typer.echo(f"No migrations to apply; {database} is up to date.")


async def _apply_migrations(settings: Settings) -> list[str]:
    from tortoise.migrations.api.migrate import migrate as apply_migrations

    ensure_sqlite_directory(settings.database_url)
    applied: list[str] = []

    def record(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    try:
        await apply_migrations(config=config_for(settings), progress=record)
    finally:
        await Tortoise.close_connections()
    return applied


@app.command()
def makemigrations(
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="Name of the migration file, after its number."),
    ] = None,
) -> None:
    """Write a migration for the changes of the models since the last migration (developers)."""
    settings = load_settings()
    paths = run_async(settings, lambda: _write_migrations(settings, name))
    if not paths:
        typer.echo("No changes detected; no migration written.")
    for path in paths:
        typer.echo(f"Created {path}")


async def _write_migrations(settings: Settings, name: str | None) -> list[str]:
    """Write new migrations as `tortoise makemigrations` of Tortoise 1.1.9 does, with our config.

    The autodetector compares the models with the migration files only, so no connection is made.
    """
    from tortoise.migrations.autodetector import MigrationAutodetector
    from tortoise.migrations.writer import format_migration_name

    config = config_for(settings)
    await Tortoise.init(config=config, init_connections=False)
    try:
        writers = await MigrationAutodetector(Tortoise.apps, config["apps"]).changes()
    finally:
        await Tortoise.close_connections()

    paths = []
    for writer in writers:
        if name:
            number = int(writer.name.split("_", 1)[0])
            writer.name = format_migration_name(number, name)
        paths.append(str(writer.write()))
    return paths


# ----------------------------------------------------------------------------------------------
# seed


@app.command()
def seed(
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed the demo organizations and 3,000 bookings.")
    ] = False,
    bookings: Annotated[
        int | None,
        typer.Option(min=1, help="Seed this many bookings instead, for benchmarks."),
    ] = None,
    rng_seed: Annotated[
        int, typer.Option("--seed", help="Seed of the random generator; same seed, same data.")
    ] = 7,
    anchor_date: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Date that departures and bookings are placed around. [default: today (UTC)]",
        ),
    ] = None,
    if_empty: Annotated[
        bool,
        typer.Option(help="Do nothing when the database already has organizations."),
    ] = False,
) -> None:
    """Fill an empty database with demo or benchmark data (never in production)."""
    settings = load_settings()
    if demo == (bookings is not None):
        fail("Pass either --demo or --bookings N.")
    anchor = anchor_date.date() if anchor_date else None
    if anchor and anchor > datetime.now(UTC).date():
        fail(f"--anchor-date {anchor.isoformat()} is in the future; use today or an earlier date.")
    try:
        check_seed_allowed(settings)
    except SeedError as error:
        fail(str(error))

    count = 0 if bookings is None else bookings
    if not demo:
        typer.echo(f"Planning {count:,} bookings with seed {rng_seed}; writing starts after that.")
    started = time.perf_counter()
    summary = run_async(settings, lambda: _seed(settings, demo, count, rng_seed, anchor, if_empty))
    if summary.skipped:
        typer.echo("Seed skipped: the database already has organizations.")
        return
    typer.echo(
        f"Seeded {summary.bookings:,} bookings with {summary.guests:,} guests for "
        f"{summary.customers:,} customers on {summary.departures:,} departures "
        f"in {time.perf_counter() - started:.1f} s."
    )
    if demo:
        typer.echo(f"Sign in as admin@alpine.example with the password {DEMO_PASSWORD}.")


async def _seed(
    settings: Settings,
    demo: bool,
    count: int,
    rng_seed: int,
    anchor: date | None,
    if_empty: bool,
) -> SeedSummary:
    async with connected(settings):
        if demo:
            return await seed_demo(rng_seed=rng_seed, anchor_date=anchor, if_empty=if_empty)
        return await seed_bookings(
            count,
            rng_seed=rng_seed,
            anchor_date=anchor,
            if_empty=if_empty,
            progress=ProgressPrinter(),
        )


class ProgressPrinter:
    """Print a line each time another tenth of the bookings is written."""

    def __init__(self) -> None:
        self._tenths_printed = 0

    def __call__(self, written: int, total: int) -> None:
        tenths = written * 10 // total
        if tenths > self._tenths_printed:
            self._tenths_printed = tenths
            typer.echo(f"  {written:,} of {total:,} bookings written")


# ----------------------------------------------------------------------------------------------
# user create


@user_app.command("create")
def create_user(
    org: Annotated[str, typer.Option("--org", help="Slug of the user's organization.")],
    email: Annotated[str, typer.Option(help="Sign-in email; stored lower-cased.")],
    first_name: Annotated[str, typer.Option(help="First name.")],
    last_name: Annotated[str, typer.Option(help="Last name.")],
    role: Annotated[
        list[str] | None,
        typer.Option(help="A role to give, such as ADMIN; repeat the option for more roles."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(help="Read the password from the first line of stdin instead of a prompt."),
    ] = False,
) -> None:
    """Create a back-office user; the password is prompted for twice without echo."""
    settings = load_settings()
    roles = _check_user_input(email, first_name, last_name, role or [])
    organization_id = run_async(settings, lambda: _check_user_target(settings, org, email))

    password = _read_password(password_stdin)
    user = UserInput(
        email=email, first_name=first_name, last_name=last_name, password=password, roles=roles
    )
    user_id = run_async(settings, lambda: _create_user(settings, organization_id, user))
    role_names = ", ".join(sorted({role.value for role in roles}))
    typer.echo(
        f"Created user {user_id} ({check.normalise_email(email)}) in {org} with {role_names}."
    )


def _check_user_input(
    email: str, first_name: str, last_name: str, role_names: list[str]
) -> tuple[Role, ...]:
    """Return the roles, or print every invalid option at once and exit."""
    errors: list[InputError] = []
    check.check_email("--email", email, errors, required=True)
    check.check_name("--first-name", first_name, errors)
    check.check_name("--last-name", last_name, errors)
    messages = [error.message for error in errors]

    known = ", ".join(role.value for role in Role)
    roles = []
    for name in role_names:
        if name.strip().upper() in Role.__members__:
            roles.append(Role[name.strip().upper()])
        else:
            messages.append(f"Unknown role {name!r}; use one of {known}.")
    if not role_names:
        messages.append("Give the user at least one role, such as --role ADMIN.")

    if messages:
        fail(*messages)
    return tuple(roles)


async def _check_user_target(settings: Settings, slug: str, email: str) -> int:
    """Return the organization's id. Raise CommandError if it does not exist or the email is taken.

    Checked before the password prompt, so the operator does not type a password in vain.
    """
    async with connected(settings):
        organization = await Organization.get_or_none(slug=slug)
        if organization is None:
            slugs = await Organization.all().order_by("slug").values_list("slug", flat=True)
            raise CommandError(
                f"No organization has the slug {slug!r}; "
                f"existing slugs: {', '.join(map(str, slugs)) or 'none'}."
            )
        normalised = check.normalise_email(email)
        if await User.exists(email=normalised):
            raise CommandError(f"A user with email {normalised!r} already exists.")
        return organization.id


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        fail("stdin is not a terminal, so the password cannot be prompted; use --password-stdin.")
    if len(password) < MIN_PASSWORD_LENGTH:
        fail(f"The password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}.")
    return password


async def _create_user(settings: Settings, organization_id: int, user: UserInput) -> int:
    async with connected(settings):
        created = await create_user_in(organization_id, user)
    return created.id


# ----------------------------------------------------------------------------------------------
# schema


@app.command()
def schema() -> None:
    """Print the GraphQL schema in SDL."""
    from schema.schema import schema as graphql_schema

    typer.echo(graphql_schema.as_str())


if __name__ == "__main__":
    app()
