"""`tourdesk export`, run as a subprocess against a seeded SQLite file."""

import csv
import io
import sqlite3
from pathlib import Path

from tests.api.commands import error_lines, tourdesk

ALPINE_GUESTS = """
SELECT count(*) FROM guest
JOIN booking ON booking.id = guest.booking_id
JOIN organization ON organization.id = booking.seller_id
WHERE organization.slug = 'alpine'
"""


def count_alpine_guests(database: str) -> int:
    with sqlite3.connect(database.removeprefix("sqlite://")) as connection:
        return int(connection.execute(ALPINE_GUESTS).fetchone()[0])


def test_export_guests_to_file(seeded_database, tmp_path):
    output = tmp_path / "guests.csv"

    result = tourdesk(
        "export", "guests", "--org", "alpine", "-o", str(output), database=seeded_database
    )

    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(output.open(encoding="utf-8", newline="")))
    assert rows[0][:2] == ["booking_reference", "trip_start (Europe/Zurich)"]
    assert len(rows) - 1 == count_alpine_guests(seeded_database)
    assert f"Wrote {len(rows) - 1:,} rows to {output}." in result.stderr
    assert not list(tmp_path.glob("*.part"))


def test_export_to_stdout_with_excel_options(seeded_database):
    result = tourdesk(
        "export",
        "users",
        "--org",
        "alpine",
        "--bom",
        "--delimiter",
        "SEMICOLON",
        database=seeded_database,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("\ufeffemail;first_name;last_name;roles;")
    rows = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 1 + 6


def test_export_customers_with_consent_only(seeded_database):
    result = tourdesk(
        "export",
        "customers",
        "--org",
        "alpine",
        "--marketing-consent-only",
        database=seeded_database,
    )

    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows
    assert {row["marketing_consent"] for row in rows} == {"true"}


def test_export_unknown_organization_fails_in_one_line(seeded_database, tmp_path):
    output = tmp_path / "never.csv"

    result = tourdesk(
        "export", "guests", "--org", "nope", "-o", str(output), database=seeded_database
    )

    assert result.returncode == 2
    assert error_lines(result) == ["Error: No organization has the slug 'nope'; check --org."]
    assert not output.exists()


def test_export_reversed_dates_fail_in_one_line(seeded_database, tmp_path):
    output: Path = tmp_path / "never.csv"

    result = tourdesk(
        "export",
        "guests",
        "--org",
        "alpine",
        "--trip-from",
        "2026-12-10",
        "--trip-to",
        "2026-12-01",
        "-o",
        str(output),
        database=seeded_database,
    )

    assert result.returncode == 2
    assert len(error_lines(result)) == 1
    assert "2026-12-10" in result.stderr
    assert not list(tmp_path.iterdir())


def test_export_to_directory_fails_in_one_line(seeded_database, tmp_path):
    result = tourdesk(
        "export", "users", "--org", "alpine", "-o", str(tmp_path), database=seeded_database
    )

    assert result.returncode == 2
    assert error_lines(result) == [
        f"Error: {tmp_path} is a directory; pass a file name with -o, such as "
        f"{tmp_path / 'export.csv'}."
    ]
    assert list(tmp_path.parent.glob(f".{tmp_path.name}.*.part")) == []


def test_export_to_missing_folder_fails_in_one_line(seeded_database, tmp_path):
    output = tmp_path / "missing" / "users.csv"

    result = tourdesk(
        "export", "users", "--org", "alpine", "-o", str(output), database=seeded_database
    )

    assert result.returncode == 2
    assert "does not exist" in result.stderr
