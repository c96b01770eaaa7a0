"""The `tourdesk` command, run as a subprocess against its own SQLite file."""

import subprocess
from pathlib import Path

import pytest

from tests.api.commands import error_lines, tourdesk

GOOD_PASSWORD = "long enough password"


def test_migrate_creates_folder_and_tables(seeded_database):
    again = tourdesk("migrate", database=seeded_database)

    assert Path(seeded_database.removeprefix("sqlite://")).exists()
    assert again.returncode == 0
    assert "No migrations to apply" in again.stdout


def test_seed_reports_progress_and_counts(tmp_path):
    url = f"sqlite://{tmp_path / 'progress.sqlite3'}"
    assert tourdesk("migrate", database=url).returncode == 0

    result = tourdesk("seed", "--bookings", "30", database=url)

    assert result.returncode == 0, result.stderr
    assert "30 of 30 bookings written" in result.stdout
    assert "Seeded 30 bookings" in result.stdout


def test_seed_if_empty_skips_seeded_database(seeded_database):
    result = tourdesk("seed", "--demo", "--if-empty", database=seeded_database)

    assert result.returncode == 0
    assert "skipped" in result.stdout


def test_seed_twice_fails_in_one_line(seeded_database):
    result = tourdesk("seed", "--demo", database=seeded_database)

    assert result.returncode == 2
    assert len(error_lines(result)) == 1
    assert "already has organizations" in result.stderr


def test_seed_in_production_fails(tmp_path):
    url = f"sqlite://{tmp_path / 'production.sqlite3'}"

    result = tourdesk("seed", "--demo", database=url, TOURDESK_ENV="production")

    assert result.returncode == 2
    assert error_lines(result) == [error_lines(result)[0]]
    assert "production" in result.stderr
    assert "Traceback" not in result.stderr


def test_seed_needs_demo_or_bookings():
    result = tourdesk("seed")

    assert result.returncode == 2
    assert "--demo or --bookings" in result.stderr


def test_unreachable_database_hides_password():
    url = "postgres://tourdesk:not-for-logs@127.0.0.1:1/tourdesk"

    result = tourdesk("migrate", database=url)

    assert result.returncode == 2
    assert len(error_lines(result)) == 1
    assert "postgres://tourdesk:***@127.0.0.1:1/tourdesk" in result.stderr
    assert "not-for-logs" not in result.stderr


def test_missing_tables_suggest_migrate(tmp_path):
    result = tourdesk("seed", "--demo", database=f"sqlite://{tmp_path / 'empty.sqlite3'}")

    assert result.returncode == 2
    assert "tourdesk migrate" in result.stderr


def test_user_create_with_password_from_stdin(seeded_database):
    result = tourdesk(
        "user",
        "create",
        "--org",
        "lakeside",
        "--email",
        "  Jo.Doe@Lakeside.Example ",
        "--first-name",
        "Jo",
        "--last-name",
        "D'Arcy",
        "--role",
        "agent",
        "--role",
        "ACCOUNTANT",
        "--password-stdin",
        database=seeded_database,
        stdin="a good long password\n",
    )

    assert result.returncode == 0, result.stderr
    assert "jo.doe@lakeside.example" in result.stdout
    assert "ACCOUNTANT, AGENT" in result.stdout
    assert "a good long password" not in result.stdout + result.stderr


def test_user_create_rejects_taken_email(seeded_database):
    result = create_user(seeded_database, email=" ADMIN@alpine.example")

    assert result.returncode == 2
    assert error_lines(result) == [
        "Error: A user with email 'admin@alpine.example' already exists."
    ]


def test_user_create_rejects_unknown_organization(seeded_database):
    result = create_user(seeded_database, org="nowhere")

    assert result.returncode == 2
    assert "nowhere" in result.stderr
    assert "alpine, lakeside, summit" in result.stderr


def test_user_create_rejects_short_password(seeded_database):
    result = create_user(seeded_database, password="too short")

    assert result.returncode == 2
    assert error_lines(result) == ["Error: The password has 9 characters; use at least 10."]


def test_user_create_lists_every_invalid_option(seeded_database):
    result = create_user(seeded_database, email="not-an-email", roles=("boss", "ADMIN", "chief"))

    lines = error_lines(result)
    assert result.returncode == 2
    assert len(lines) == 3
    assert "'not-an-email' is not a valid email address" in lines[0]
    assert "Unknown role 'boss'" in lines[1]
    assert "Unknown role 'chief'" in lines[2]


def test_user_create_without_terminal_needs_password_stdin(seeded_database):
    result = create_user(seeded_database, password=None)

    assert result.returncode == 2
    assert "--password-stdin" in result.stderr


def create_user(
    database: str,
    *,
    org: str = "alpine",
    email: str = "new.person@alpine.example",
    roles: tuple[str, ...] = ("EMPLOYEE",),
    password: str | None = GOOD_PASSWORD,
) -> subprocess.CompletedProcess[str]:
    arguments = ["user", "create", "--org", org, "--email", email]
    arguments += ["--first-name", "New", "--last-name", "Person"]
    for role in roles:
        arguments += ["--role", role]
    if password is not None:
        arguments.append("--password-stdin")
    return tourdesk(*arguments, database=database, stdin=f"{password}\n" if password else "")


def test_schema_prints_sdl():
    result = tourdesk("schema")

    assert result.returncode == 0, result.stderr
    assert "type Query" in result.stdout


POSTGRES_URL = "postgres://tourdesk@127.0.0.1:1/tourdesk"


@pytest.mark.parametrize(
    ("arguments", "database", "message"),
    [
        pytest.param(
            ["--workers", "0"],
            "",
            "Error: --workers is 0; use 1 or more server processes.",
            id="zero",
        ),
        pytest.param(
            ["--workers", "-3"],
            POSTGRES_URL,
            "Error: --workers is -3; use 1 or more server processes.",
            id="negative",
        ),
        pytest.param(
            ["--workers", "2"],
            "",
            "Error: --workers is 2, but SQLite supports one server process. Use --workers 1, or "
            "set TOURDESK_DATABASE_URL to a PostgreSQL database (see docs/deployment.md).",
            id="sqlite",
        ),
        pytest.param(
            ["--workers", "2", "--reload"],
            POSTGRES_URL,
            "Error: --reload runs one server process; drop --reload or --workers 2.",
            id="reload",
        ),
    ],
)
def test_serve_rejects_workers_it_cannot_run(arguments: list[str], database: str, message: str):
    result = tourdesk("serve", *arguments, database=database)

    assert result.returncode == 2
    assert error_lines(result) == [message]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("TOURDESK_DATABASE_POOL_SIZE", "0", id="pool-size"),
        pytest.param("TOURDESK_DATABASE_POOL_TIMEOUT", "0", id="pool-timeout"),
    ],
)
def test_serve_rejects_pool_settings_below_one(variable: str, value: str):
    result = tourdesk("serve", database=POSTGRES_URL, **{variable: value})

    assert result.returncode == 2
    assert len(error_lines(result)) == 1
    assert result.stderr.startswith(f"Error: {variable} is invalid:")
