"""Departures with their seats taken and guests: the manifest a guide takes on the trip."""

from dataclasses import dataclass, field

from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models.access import Permission, Scope, Viewer
from models.bookings import Guest
from models.catalog import Departure
from models.dates import DateRange
from models.enums import BookingStatus
from models.pagination import Page, PageRequest, SortKey, SortValueKind, paginate
from models.queries.visibility import active_supplier_ids, guided_departure_ids, require

DEPARTURE_SORT_KEY = SortKey("starts_at", SortValueKind.DATETIME, lambda d: d.starts_at)


@dataclass(frozen=True, slots=True)
class DepartureFilter:
    trip_date: DateRange = field(default_factory=DateRange)
    activity_id: int | None = None
    # Departures of activities that ACTIVE suppliers let the viewer's organization sell.
    include_suppliers: bool = False


def departures_query(viewer: Viewer, departure_filter: DepartureFilter) -> QuerySet[Departure]:
    scope = require(viewer, Permission.READ_BOOKINGS)
    departure_filter.trip_date.check("tripDate")

    offered = Q(activity__organization_id=viewer.organization_id)
    if departure_filter.include_suppliers:
        offered |= Q(activity__organization_id__in=active_supplier_ids(viewer.organization_id))
    queryset = Departure.filter(offered)
    if scope is Scope.GUIDED:
        queryset = queryset.filter(id__in=guided_departure_ids(viewer.user_id))

    if departure_filter.trip_date.start:
        queryset = queryset.filter(starts_on__gte=departure_filter.trip_date.start)
    if departure_filter.trip_date.end:
        queryset = queryset.filter(starts_on__lte=departure_filter.trip_date.end)
    if departure_filter.activity_id is not None:
        queryset = queryset.filter(activity_id=departure_filter.activity_id)
    return queryset


async def list_departures(
    viewer: Viewer, departure_filter: DepartureFilter, page: PageRequest
) -> Page[Departure]:
    return await paginate(departures_query(viewer, departure_filter), DEPARTURE_SORT_KEY, page)


async def seats_taken(departure_ids: list[int]) -> dict[int, int]:
    """Count the guests of bookings that are not cancelled, whoever sold them, per departure."""
    rows = (
        await Guest.filter(booking__departure_id__in=departure_ids)
        .exclude(booking__status=BookingStatus.CANCELLED)
        .annotate(seats=Count("id"))
        .group_by("booking__departure_id")
        .values("booking__departure_id", "seats")
    )
    taken = dict.fromkeys(departure_ids, 0)
    for row in rows:
        taken[row["booking__departure_id"]] = row["seats"]
    return taken
