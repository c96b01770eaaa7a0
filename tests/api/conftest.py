"""Fixtures for the command-line tests."""

import pytest

from tests.api.commands import tourdesk


@pytest.fixture(scope="module")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return the URL of a SQLite file that `tourdesk migrate` and `tourdesk seed` prepared."""
    url = f"sqlite://{tmp_path_factory.mktemp('cli') / 'new-folder' / 'cli.sqlite3'}"
    migrated = tourdesk("migrate", database=url)
    assert migrated.returncode == 0, migrated.stderr
    seeded = tourdesk("seed", "--bookings", "60", "--seed", "5", database=url)
    assert seeded.returncode == 0, seeded.stderr
    return url
