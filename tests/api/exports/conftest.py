"""Fixtures of export tests: a storage directory per test and a worker that uses it."""

from pathlib import Path

import pytest

from api.exports.storage import LocalExportStorage
from api.exports.worker import ExportWorker


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    return tmp_path / "exports"


@pytest.fixture
def storage(export_dir: Path) -> LocalExportStorage:
    return LocalExportStorage(export_dir)


@pytest.fixture
def worker(storage: LocalExportStorage) -> ExportWorker:
    return ExportWorker(storage)
