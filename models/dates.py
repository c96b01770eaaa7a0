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
        start = _start_of_day_or_open(self.start, time_zone) if self.start else None
        end = None
        if self.end and self.end < date.max:
            end = _start_of_day_or_open(self.end + timedelta(days=1), time_zone)
        return start, end


def _start_of_day_or_open(day: date, time_zone: str) -> datetime | None:
    try:
        return start_of_day(day, time_zone)
    except OverflowError:
        # The day starts before year 1 or after year 9999 in UTC, beyond any instant a
        # datetime can hold, so the range is open at that end.
        return None
