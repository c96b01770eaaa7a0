"""Calendar dates read in an organization's time zone."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.errors import InvalidArgument


def zone_of(time_zone: str) -> ZoneInfo:
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidArgument(
            f"Unknown time zone {time_zone!r}; use an IANA name such as 'Europe/Zurich'."
        ) from error


def local_date(instant: datetime, time_zone: str) -> date:
    return instant.astimezone(zone_of(time_zone)).date()


def start_of_day(day: date, time_zone: str) -> datetime:
    """Return the first instant of `day` in `time_zone`, in UTC."""
    return datetime.combine(day, time.min, tzinfo=zone_of(time_zone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DateRange:
    """Calendar dates, both ends inclusive; an open end is None."""

    start: date | None = None
    end: date | None = None

    def check(self, argument: str) -> None:
        if self.start and self.end and self.start > self.end:
            raise InvalidArgument(
                f"{argument}.from ({self.start.isoformat()}) is after {argument}.to "
                f"({self.end.isoformat()}); pass a range whose start is on or before its end."
            )

    def instants(self, time_zone: str) -> tuple[datetime | None, datetime | None]:
        """Return the half-open UTC interval [start, end) covering the dates in `time_zone`."""
        start = start_of_day(self.start, time_zone) if self.start else None
        end = start_of_day(self.end + timedelta(days=1), time_zone) if self.end else None
        return start, end
