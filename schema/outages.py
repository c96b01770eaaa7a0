"""Logging of operations that failed because the database was unavailable."""

import logging
import time

logger = logging.getLogger(__name__)


class OutageLog:
    """Log failures caused by an unavailable database at most once per interval, with a count.

    An outage fails every request at once, so one line per interval replaces a line per request.
    """

    def __init__(self, interval_seconds: float = 10.0) -> None:
        self.interval_seconds = interval_seconds
        self.logged_at: float | None = None
        self.failures_since_logged = 0

    def record(self, failed: str, error: BaseException | None) -> None:
        """Count a failure; `failed` names what failed, such as `operation Bookings`."""
        self.failures_since_logged += 1
        now = time.monotonic()
        if self.logged_at is not None and now - self.logged_at < self.interval_seconds:
            return
        logger.warning(
            "The database is unavailable: %s failed with %s: %s "
            "(%s failures of this kind since the previous such line)",
            failed,
            type(error).__name__,
            error,
            self.failures_since_logged,
        )
        self.logged_at = now
        self.failures_since_logged = 0


database_outages = OutageLog()
