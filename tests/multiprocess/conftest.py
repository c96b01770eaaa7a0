"""Tests that run several server processes against one database, as a scaled-out deployment."""

import pytest

from tests.conftest import BACKEND


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # SQLite takes one server process, so scale-out has nothing to test there.
    skip = pytest.mark.skip(reason="several server processes need PostgreSQL; SQLite takes one")
    for item in items:
        if BACKEND != "postgres" and "tests/multiprocess/" in str(item.path):
            item.add_marker(skip)
