"""Trip-date and booking-date filters: inclusive calendar dates in the organization's time zone."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.catalog import Activity, Departure
from models.enums import Role
from models.users import User
from schema.relay import to_global_id
from tests.factories import World, add_booking, create_departure, create_organization, create_user
from tests.helpers import execute

ZURICH = "Europe/Zurich"
# Booking creation time of the trip-date cases: outside every range below.
BOOKED_AT = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
# Trip start of the booking-date cases: outside every range below.
TRIP_AT = datetime(2027, 2, 1, 10, 0, tzinfo=UTC)

BOOKINGS = """
query Bookings($filter: BookingFilterInput) {
  bookings(first: 100, filter: $filter) { totalCount nodes { buyer { email } } }
}
"""

GUESTS = """
query Guests($filter: GuestFilterInput) {
  guests(first: 100, filter: $filter) { totalCount nodes { firstName } }
}
"""

CUSTOMERS = """
query Customers($filter: CustomerFilterInput) {
  customers(first: 100, filter: $filter) { totalCount nodes { email } }
}
"""

DEPARTURES = """
query Departures($filter: DepartureFilterInput) {
  departures(first: 100, filter: $filter) { totalCount nodes { id } }
}
"""


def local(
    year: int, month: int, day: int, hour: int, minute: int, second: int = 0, *, zone: str = ZURICH
) -> datetime:
    """Return the UTC instant of a wall-clock time in `zone`."""
    wall_clock = datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone))
    return wall_clock.astimezone(UTC)


@dataclass(frozen=True)
class Case:
    """A date range and instants on both sides of its edges, named by where they fall."""

    start: date | None
    end: date | None
    inside: dict[str, datetime]
    outside: dict[str, datetime]

    @property
    def range(self) -> dict[str, str]:
        value = {}
        if self.start:
            value["from"] = self.start.isoformat()
        if self.end:
            value["to"] = self.end.isoformat()
        return value


CASES = {
    "summer-range": Case(
        start=date(2026, 7, 1),
        end=date(2026, 7, 10),
        inside={
            "first-midnight": local(2026, 7, 1, 0, 0),
            "last-2330": local(2026, 7, 10, 23, 30),
            "last-2359": local(2026, 7, 10, 23, 59),
            "last-second": local(2026, 7, 10, 23, 59, 59),
        },
        outside={
            "eve-2359": local(2026, 6, 30, 23, 59, 59),
            "next-midnight": local(2026, 7, 11, 0, 0),
            "next-0030": local(2026, 7, 11, 0, 30),
        },
    ),
    "winter-range": Case(
        start=date(2026, 1, 5),
        end=date(2026, 1, 10),
        inside={
            "first-midnight": local(2026, 1, 5, 0, 0),
            "last-2330": local(2026, 1, 10, 23, 30),
            "last-2359": local(2026, 1, 10, 23, 59),
        },
        outside={
            "eve-2359": local(2026, 1, 4, 23, 59, 59),
            "next-midnight": local(2026, 1, 11, 0, 0),
            "next-0030": local(2026, 1, 11, 0, 30),
        },
    ),
    # Clocks go from 02:00 CET to 03:00 CEST: the day lasts 23 hours.
    "spring-forward-day": Case(
        start=date(2026, 3, 29),
        end=date(2026, 3, 29),
        inside={
            "midnight": datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
            "before-change": datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
            "after-change": datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            "last-second": datetime(2026, 3, 29, 21, 59, 59, tzinfo=UTC),
        },
        outside={
            "eve-last-second": datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC),
            "next-midnight": datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
            # 24 hours after midnight, but already 00:30 on March 30.
            "next-0030": datetime(2026, 3, 29, 22, 30, tzinfo=UTC),
        },
    ),
    # Clocks go from 03:00 CEST back to 02:00 CET: the day lasts 25 hours.
    "fall-back-day": Case(
        start=date(2026, 10, 25),
        end=date(2026, 10, 25),
        inside={
            "midnight": datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
            "first-0230": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            "second-0230": datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            # 24 hours after midnight, yet still 23:30 on October 25.
            "last-2330": datetime(2026, 10, 25, 22, 30, tzinfo=UTC),
            "last-second": datetime(2026, 10, 25, 22, 59, 59, tzinfo=UTC),
        },
        outside={
            "eve-last-second": datetime(2026, 10, 24, 21, 59, 59, tzinfo=UTC),
            "next-midnight": datetime(2026, 10, 25, 23, 0, tzinfo=UTC),
        },
    ),
    "open-start": Case(
        start=None,
        end=date(2026, 7, 10),
        inside={
            "long-before": local(2026, 2, 1, 12, 0),
            "last-2359": local(2026, 7, 10, 23, 59),
        },
        outside={"next-midnight": local(2026, 7, 11, 0, 0)},
    ),
    "open-end": Case(
        start=date(2026, 7, 1),
        end=None,
        inside={
            "first-midnight": local(2026, 7, 1, 0, 0),
            "long-after": local(2026, 11, 30, 12, 0),
        },
        outside={"eve-2359": local(2026, 6, 30, 23, 59, 59)},
    ),
}


@dataclass(frozen=True)
class Listing:
    """A list query and how to read the label of each of its nodes."""

    document: str
    field: str
    label: Callable[[dict[str, Any]], str]

    async def labels(self, user: User, filter_value: dict[str, Any]) -> list[str]:
        result = await execute(user, self.document, {"filter": filter_value})
        assert result.errors == [], result.errors
        assert result.data is not None
        return sorted(self.label(node) for node in result.data[self.field]["nodes"])


LISTINGS = {
    "bookings": Listing(BOOKINGS, "bookings", lambda node: node["buyer"]["email"].split("@")[0]),
    "guests": Listing(GUESTS, "guests", lambda node: node["firstName"]),
    "customers": Listing(CUSTOMERS, "customers", lambda node: node["email"].split("@")[0]),
}


async def book_at(world: World, label: str, *, departure: Departure, created_at: datetime) -> None:
    """Add a booking whose buyer email and guest name are `label`, so lists report it by label."""
    await add_booking(
        seller=world.alpine,
        departure=departure,
        created_by=world.user("alpine", Role.ADMIN),
        buyer_email=f"{label}@example.com",
        guests=[(label, "Guest")],
        created_at=created_at,
    )


async def trips_at(world: World, case: Case) -> dict[int, str]:
    """Book one trip starting at each instant of `case`; return the departures' labels by id."""
    labels = {}
    for label, starts_at in {**case.inside, **case.outside}.items():
        departure = await create_departure(world.activity, starts_at, time_zone=ZURICH)
        await book_at(world, label, departure=departure, created_at=BOOKED_AT)
        labels[departure.id] = label
    return labels


async def bookings_at(world: World, case: Case) -> None:
    trip = await create_departure(world.activity, TRIP_AT, time_zone=ZURICH)
    for label, created_at in {**case.inside, **case.outside}.items():
        await book_at(world, label, departure=trip, created_at=created_at)


LIST_CASES = [(name, case) for name in LISTINGS for case in CASES]
LIST_IDS = [f"{name}-{case}" for name, case in LIST_CASES]


@pytest.mark.parametrize(("list_name", "case_name"), LIST_CASES, ids=LIST_IDS)
async def test_trip_date_matches_local_start_date(world, list_name, case_name):
    case = CASES[case_name]
    await trips_at(world, case)

    labels = await LISTINGS[list_name].labels(
        world.user("alpine", Role.ADMIN), {"tripDate": case.range}
    )

    assert labels == sorted(case.inside)


@pytest.mark.parametrize(("list_name", "case_name"), LIST_CASES, ids=LIST_IDS)
async def test_booking_date_matches_local_creation_date(world, list_name, case_name):
    case = CASES[case_name]
    await bookings_at(world, case)

    labels = await LISTINGS[list_name].labels(
        world.user("alpine", Role.ADMIN), {"bookingDate": case.range}
    )

    assert labels == sorted(case.inside)


@pytest.mark.parametrize("case_name", list(CASES))
async def test_departures_trip_date_matches_local_start_date(world, case_name):
    case = CASES[case_name]
    labels_by_id = await trips_at(world, case)
    only_these = {"activity": to_global_id("Activity", world.activity.id)}

    result = await execute(
        world.user("alpine", Role.ADMIN),
        DEPARTURES,
        {"filter": {**only_these, "tripDate": case.range}},
    )

    assert result.errors == []
    assert result.data is not None
    found = {node["id"] for node in result.data["departures"]["nodes"]}
    labels = sorted(
        label for pk, label in labels_by_id.items() if to_global_id("Departure", pk) in found
    )
    assert labels == sorted(case.inside)


@pytest.fixture
async def new_york_admin(db: str) -> User:
    harbor = await create_organization("harbor", time_zone="America/New_York")
    return await create_user(harbor, Role.ADMIN)


async def test_booking_date_uses_viewer_time_zone(new_york_admin):
    harbor = await new_york_admin.organization
    activity = await Activity.create(organization_id=harbor.id, name="Harbor cruise")
    trip = await create_departure(activity, TRIP_AT, time_zone="America/New_York")
    # 23:30 on July 10 in New York is already July 11 in UTC and in Zurich.
    for label, created_at in (
        ("late-evening", local(2026, 7, 10, 23, 30, zone="America/New_York")),
        ("next-midnight", local(2026, 7, 11, 0, 0, zone="America/New_York")),
    ):
        await add_booking(
            seller=harbor,
            departure=trip,
            buyer_email=f"{label}@example.com",
            created_at=created_at,
        )

    labels = await LISTINGS["bookings"].labels(
        new_york_admin, {"bookingDate": {"from": "2026-07-10", "to": "2026-07-10"}}
    )

    assert labels == ["late-evening"]


async def test_trip_date_uses_supplier_time_zone(new_york_admin):
    harbor = await new_york_admin.organization
    activity = await Activity.create(organization_id=harbor.id, name="Harbor cruise")
    for starts_at in (
        local(2026, 7, 10, 23, 30, zone="America/New_York"),
        local(2026, 7, 11, 0, 30, zone="America/New_York"),
    ):
        departure = await create_departure(activity, starts_at, time_zone="America/New_York")
        await add_booking(
            seller=harbor,
            departure=departure,
            buyer_email=f"{departure.starts_on.isoformat()}@example.com",
            created_at=BOOKED_AT,
        )

    labels = await LISTINGS["bookings"].labels(
        new_york_admin, {"tripDate": {"from": "2026-07-10", "to": "2026-07-10"}}
    )

    assert labels == ["2026-07-10"]


EXTREME_RANGES = [
    {"from": "0001-01-01"},
    {"to": "9999-12-31"},
    {"from": "0001-01-01", "to": "9999-12-31"},
]
EXTREME_CASES = [
    (name, filter_name, extreme)
    for name in LISTINGS
    for filter_name in ("tripDate", "bookingDate")
    for extreme in EXTREME_RANGES
]


@pytest.mark.parametrize(
    ("list_name", "filter_name", "extreme"),
    EXTREME_CASES,
    ids=[f"{name}-{f}-{'-'.join(sorted(r))}" for name, f, r in EXTREME_CASES],
)
async def test_extreme_dates_match_everything(world, list_name, filter_name, extreme):
    case = CASES["summer-range"]
    await bookings_at(world, case)

    labels = await LISTINGS[list_name].labels(
        world.user("alpine", Role.ADMIN), {filter_name: extreme}
    )

    assert labels == sorted({**case.inside, **case.outside})
