"""The bookings list as plain rows: each booking with its buyer, departure and activity.

A page of bookings is read in one statement that joins the buyer, the departure and its activity,
and the guests of the whole page in a second one. The rows are plain dataclasses rather than
Tortoise models: building model objects costs several times more than reading the values.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.queryset import QuerySet, ValuesListQuery

from models.access import Viewer
from models.bookings import Booking, Guest
from models.enums import BookingChannel, BookingStatus, GuestCategory
from models.pagination import Page, PageRequest, paginate_rows
from models.queries.bookings import (
    BOOKING_SORT_KEYS,
    BookingFilter,
    BookingSort,
    bookings_query,
    in_trip_start_order,
)
from models.queries.tally import tally_query
from models.queries.tuples import fetch_chosen, fetch_tuples_of


@dataclass(slots=True)
class ActivityRow:
    id: int
    organization_id: int
    name: str
    description: str


@dataclass(slots=True)
class DepartureRow:
    activity: ActivityRow
    id: int
    activity_id: int
    starts_at: datetime
    ends_at: datetime
    starts_on: date
    capacity: int


@dataclass(slots=True)
class BuyerRow:
    first_name: str
    last_name: str
    email: str
    phone: str
    country: str
    language: str
    marketing_consent: bool


@dataclass(slots=True)
class GuestRow:
    """A guest of a page: of a booking on a bookings page, or one row of a guests page."""

    id: int
    booking_id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    category: GuestCategory
    checked_in_at: datetime | None
    # The guest's booking on a guests page. None on a bookings page, where the booking contains
    # the guest.
    booking: "BookingRow | None" = None


@dataclass(slots=True)
class BookingRow:
    """A booking of a page, with the rows the page shows beside it."""

    departure: DepartureRow
    buyer: BuyerRow | None
    id: int
    reference: str
    seller_id: int
    departure_id: int
    created_by_id: int | None
    status: BookingStatus
    channel: BookingChannel
    total_amount: Decimal
    currency: str
    created_at: datetime
    cancelled_at: datetime | None
    # None when the page was read without its guests.
    guests: list[GuestRow] | None = None


BOOKING_COLUMNS = (
    "id",
    "reference",
    "seller_id",
    "departure_id",
    "created_by_id",
    "status",
    "channel",
    "total_amount",
    "currency",
    "created_at",
    "cancelled_at",
)
DEPARTURE_COLUMNS = ("id", "activity_id", "starts_at", "ends_at", "starts_on", "capacity")
ACTIVITY_COLUMNS = ("id", "organization_id", "name", "description")
BUYER_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "language",
    "marketing_consent",
)
GUEST_COLUMNS = (
    "id",
    "booking_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "category",
    "checked_in_at",
)

PAGE_COLUMNS = (
    *BOOKING_COLUMNS,
    *(f"departure__{column}" for column in DEPARTURE_COLUMNS),
    *(f"departure__activity__{column}" for column in ACTIVITY_COLUMNS),
    *(f"buyer__{column}" for column in BUYER_COLUMNS),
)


_DEPARTURE = len(BOOKING_COLUMNS)
_ACTIVITY = _DEPARTURE + len(DEPARTURE_COLUMNS)
_BUYER = _ACTIVITY + len(ACTIVITY_COLUMNS)


def booking_row(values: Sequence[Any]) -> BookingRow:
    """Build a booking from the values of `PAGE_COLUMNS`, in their order."""
    activity = ActivityRow(*values[_ACTIVITY:_BUYER])
    departure = DepartureRow(activity, *values[_DEPARTURE:_ACTIVITY])
    # Every booking has a buyer, but the join is an outer one, so a missing row reads as None.
    buyer = BuyerRow(*values[_BUYER + 1 :]) if values[_BUYER] is not None else None
    return BookingRow(departure, buyer, *values[:_DEPARTURE])


async def _fetch_page(page: QuerySet[Booking], ordering: Sequence[str]) -> list[BookingRow]:
    # The page is chosen by its own query and joined afterwards: joined first, the database
    # would join every matching booking before sorting and cutting the page.
    return [booking_row(values) for values in await fetch_chosen(page, PAGE_COLUMNS, ordering)]


def _guests_of(booking_ids: list[int]) -> ValuesListQuery[Any]:
    return (
        Guest.filter(booking_id__in=booking_ids)
        .order_by("booking_id", "position", "id")
        .values_list(*GUEST_COLUMNS)
    )


async def _add_guests(rows: list[BookingRow]) -> None:
    guests: dict[int, list[GuestRow]] = {row.id: [] for row in rows}
    if guests:
        for values in await fetch_tuples_of(_guests_of, list(guests)):
            guests[values[1]].append(GuestRow(*values))
    for row in rows:
        row.guests = guests[row.id]


async def count_bookings(viewer: Viewer, booking_filter: BookingFilter) -> int:
    """Count the bookings `bookings_query` selects, adding up a tally where one can tell."""
    tally = tally_query(viewer, booking_filter)
    if tally is not None:
        return await tally.sum("bookings")
    return await bookings_query(viewer, booking_filter).count()


async def list_booking_page(
    viewer: Viewer,
    booking_filter: BookingFilter,
    sort: BookingSort,
    descending: bool,
    page: PageRequest,
    *,
    with_guests: bool,
) -> Page[BookingRow]:
    """Read a page of the viewer's bookings; `with_guests` reads their guests too."""
    sort_key = BOOKING_SORT_KEYS[sort]
    if descending:
        sort_key = sort_key.reversed()
    queryset = bookings_query(viewer, booking_filter)
    ordered = queryset
    if sort is BookingSort.TRIP_START:
        # Bounding the start instant lets the database read departures in start order.
        ordered = in_trip_start_order(queryset, booking_filter.trip_date, path="")
    found = await paginate_rows(
        ordered,
        sort_key,
        page,
        _fetch_page,
        count=lambda: count_bookings(viewer, booking_filter),
    )
    if with_guests:
        await _add_guests(found.rows)
    return found
