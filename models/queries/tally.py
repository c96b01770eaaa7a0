"""Counts of the guests and bookings lists, added up from the tallies where they can tell.

The tallies (models/tallies.py) hold the bookings and guests per trip date, seller and booking
status: per activity, and per supplier for all its activities. A filter on those columns alone,
read by a viewer who sees all of an organization's bookings, selects whole tally rows, so its
count is the sum of theirs: a few rows per trip date, however many guests they hold. Any other
filter is counted one row at a time, as before, so every count stays exact.
"""

from dataclasses import MISSING, dataclass, fields
from typing import Any, Literal

from tortoise.expressions import Q, Subquery
from tortoise.functions import Sum
from tortoise.queryset import ValuesQuery

from models.access import Permission, Scope, Viewer
from models.catalog import Activity
from models.queries.bookings import TRIP_FILTER_FIELDS, BookingFilter, trip_conditions
from models.queries.visibility import sold_condition
from models.tallies import ActivityTally, SupplierTally


def sets_only(value: Any, names: frozenset[str]) -> bool:
    """Tell whether the dataclass `value` leaves every field but `names` at its default."""
    for field in fields(value):
        if field.name in names:
            continue
        default = field.default if field.default_factory is MISSING else field.default_factory()
        if getattr(value, field.name) != default:
            return False
    return True


@dataclass(frozen=True, slots=True)
class TallyQuery:
    """The rows of one tally that hold the bookings a list filter selects."""

    tally: type[ActivityTally] | type[SupplierTally]
    conditions: list[Q]

    def totals(self, column: Literal["bookings", "guests"]) -> ValuesQuery[Literal[False]]:
        """Select the sum of `column` over the rows, as the one row `total`."""
        return self.tally.filter(*self.conditions).annotate(total=Sum(column)).values("total")

    async def sum(self, column: Literal["bookings", "guests"]) -> int:
        totals = await self.totals(column)
        # SUM of no rows is NULL, and PostgreSQL sums integers as a bigint.
        return int(totals[0]["total"] or 0) if totals else 0


def tally_query(viewer: Viewer, booking_filter: BookingFilter) -> TallyQuery | None:
    """Select the tally rows of the bookings that `bookings_query` selects.

    Return None when the filter or the viewer's scope splits tally rows: a row mixes bookings
    made on different dates, by different users, on different departures of the day, and only
    the booking rows tell them apart.
    """
    booking_filter.check()
    # An AGENT reads the bookings they created and a GUIDE the departures they guide; the
    # tallies know neither creators nor departures. A viewer without any scope is refused by
    # the row count.
    if viewer.scope(Permission.READ_BOOKINGS) is not Scope.ALL:
        return None
    if not sets_only(booking_filter, TRIP_FILTER_FIELDS):
        return None

    trip = trip_conditions(
        booking_filter, starts_on="starts_on", status="status", activity_id="activity_id"
    )
    if booking_filter.activity_id is None:
        sold = sold_condition(
            viewer,
            include_partners=booking_filter.include_partners,
            seller="seller_id",
            on_own_activities=Q(supplier_id=viewer.organization_id),
        )
        return TallyQuery(SupplierTally, [sold, *trip])

    own_activities = Activity.filter(organization_id=viewer.organization_id).values("id")
    sold = sold_condition(
        viewer,
        include_partners=booking_filter.include_partners,
        seller="seller_id",
        # A subquery rather than a join: Tortoise groups an aggregate over a join by every
        # column, which would return one sum per row.
        on_own_activities=Q(activity_id__in=Subquery(own_activities)),
    )
    return TallyQuery(ActivityTally, [sold, *trip])
