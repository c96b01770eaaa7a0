"""The customers list: one row per buyer merged by normalised email within the organization."""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.access import Permission, Scope, Viewer
from models.bookings import Booking
from models.customers import Customer
from models.dates import DateRange
from models.enums import BookingStatus
from models.pagination import Page, PageRequest, SortKey, SortValueKind, paginate
from models.queries.bookings import BookingFilter, check_search, filter_bookings
from models.queries.visibility import require


class CustomerSort(StrEnum):
    LAST_BOOKING_AT = "LAST_BOOKING_AT"
    FIRST_BOOKING_AT = "FIRST_BOOKING_AT"
    LAST_NAME = "LAST_NAME"
    BOOKING_COUNT = "BOOKING_COUNT"


CUSTOMER_SORT_KEYS = {
    CustomerSort.LAST_BOOKING_AT: SortKey(
        "last_booking_at", SortValueKind.DATETIME, lambda c: c.last_booking_at
    ),
    CustomerSort.FIRST_BOOKING_AT: SortKey(
        "first_booking_at", SortValueKind.DATETIME, lambda c: c.first_booking_at
    ),
    CustomerSort.LAST_NAME: SortKey("last_name", SortValueKind.TEXT, lambda c: c.last_name),
    # NOTE: no sort on total spent: SQLite stores decimals as text, so it would order
    # "100.00" before "20.00". An integer column of cents would make that sort possible.
    CustomerSort.BOOKING_COUNT: SortKey(
        "booking_count", SortValueKind.INTEGER, lambda c: c.booking_count
    ),
}


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    """Customers with at least one booking matching the booking filters, and own fields.

    The date and status filters select customers by their bookings; the counters shown stay the
    customer's totals over all bookings.
    """

    trip_date: DateRange = field(default_factory=DateRange)
    booking_date: DateRange = field(default_factory=DateRange)
    statuses: tuple[BookingStatus, ...] = ()
    search: str = ""
    marketing_consent: bool | None = None

    @property
    def filters_bookings(self) -> bool:
        return bool(
            self.trip_date.start
            or self.trip_date.end
            or self.booking_date.start
            or self.booking_date.end
            or self.statuses
        )


def _counted_bookings(viewer: Viewer, scope: Scope) -> QuerySet[Booking]:
    """Select the bookings a viewer's customer filters and figures are about."""
    bookings = Booking.filter(seller_id=viewer.organization_id)
    if scope is Scope.OWN:
        bookings = bookings.filter(created_by_id=viewer.user_id)
    return bookings


def customers_query(viewer: Viewer, customer_filter: CustomerFilter) -> QuerySet[Customer]:
    """Select the viewer's organization's customers; partners' customers are never included."""
    scope = require(viewer, Permission.READ_CUSTOMERS)
    customer_filter.trip_date.check("tripDate")
    customer_filter.booking_date.check("bookingDate")
    check_search(customer_filter.search)

    queryset = Customer.filter(organization_id=viewer.organization_id)
    if scope is Scope.OWN:
        mine = Booking.filter(seller_id=viewer.organization_id, created_by_id=viewer.user_id)
        queryset = queryset.filter(id__in=Subquery(mine.values("customer_id")))

    if customer_filter.filters_bookings:
        bookings = filter_bookings(
            _counted_bookings(viewer, scope),
            viewer,
            BookingFilter(
                trip_date=customer_filter.trip_date,
                booking_date=customer_filter.booking_date,
                statuses=customer_filter.statuses,
            ),
        )
        queryset = queryset.filter(id__in=Subquery(bookings.values("customer_id")))

    if customer_filter.marketing_consent is not None:
        queryset = queryset.filter(marketing_consent=customer_filter.marketing_consent)

    search = customer_filter.search.strip()
    if search:
        queryset = queryset.filter(
            Q(email_key__icontains=search.lower())
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    return queryset


async def list_customers(
    viewer: Viewer,
    customer_filter: CustomerFilter,
    sort: CustomerSort,
    descending: bool,
    page: PageRequest,
) -> Page[Customer]:
    sort_key = CUSTOMER_SORT_KEYS[sort]
    if descending:
        sort_key = sort_key.reversed()
    found = await paginate(customers_query(viewer, customer_filter), sort_key, page)
    await limit_figures_to_viewer(viewer, found.rows)
    return found


async def limit_figures_to_viewer(viewer: Viewer, customers: list[Customer]) -> None:
    """Recount the figures of customers over the bookings the viewer made, for AGENT-like roles.

    A role that reads only the customers of its own bookings must not learn what the customer
    spent with colleagues, so its counts, totals and dates cover its own bookings alone.
    NOTE: the list is still ordered by the organization-wide figures.
    """
    if viewer.scope(Permission.READ_CUSTOMERS) is not Scope.OWN or not customers:
        return
    bookings = (
        await _counted_bookings(viewer, Scope.OWN)
        .filter(customer_id__in=[customer.id for customer in customers])
        .values("customer_id", "status", "total_amount", "created_at")
    )

    for customer in customers:
        own = [booking for booking in bookings if booking["customer_id"] == customer.id]
        counted = [booking for booking in own if booking["status"] != BookingStatus.CANCELLED]
        customer.booking_count = len(counted)
        # Summed in Python: SQLite stores decimals as text and would sum them as floats.
        customer.total_spent = sum((Decimal(b["total_amount"]) for b in counted), Decimal(0))
        if own:
            customer.first_booking_at = min(booking["created_at"] for booking in own)
            customer.last_booking_at = max(booking["created_at"] for booking in own)
