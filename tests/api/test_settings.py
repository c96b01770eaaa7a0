"""Settings read from the environment."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from api.settings import Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("60", timedelta(seconds=60)),
        ("0.5", timedelta(seconds=0.5)),
        ("PT2M", timedelta(minutes=2)),
    ],
)
def test_duration_reads_seconds_and_iso_8601(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: timedelta
):
    monkeypatch.setenv("TOURDESK_EXPORT_STALE_AFTER", value)

    assert Settings().export_stale_after == expected


@pytest.mark.parametrize("value", ["0", "-5", "soon", "inf"])
def test_duration_rejects_invalid_value(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("TOURDESK_EXPORT_WAIT", value)

    with pytest.raises(ValidationError, match="export_wait"):
        Settings()
