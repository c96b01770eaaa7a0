"""Booking visibility: the one place that applies the role matrix to rows."""

from typing import Any, Protocol

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.access import Permission, Scope, Viewer
from models.bookings import Booking
from models.catalog import Departure
from models.enums import PartnerConnectionStatus
from models.errors import Forbidden
from models.organizations import PartnerConnection


def active_partner_ids(organization_id: int) -> Subquery:
    """Select the partners that `organization_id` supplies through an ACTIVE connection."""
    return Subquery(
        PartnerConnection.filter(
            supplier_id=organization_id, status=PartnerConnectionStatus.ACTIVE
        ).values("partner_id")
    )


def active_supplier_ids(organization_id: int) -> Subquery:
    """Select the suppliers whose activities `organization_id` may sell."""
    return Subquery(
        PartnerConnection.filter(
            partner_id=organization_id, status=PartnerConnectionStatus.ACTIVE
        ).values("supplier_id")
    )


def guided_departure_ids(user_id: int) -> Subquery:
    return Subquery(Departure.filter(guides__id=user_id).values("id"))


def condition_at(path: str, **lookups: Any) -> Q:
    """Build a Q of `lookups` on the model at `path`, such as "booking__", from the queried one."""
    prefixed: dict[str, Any] = {f"{path}{lookup}": value for lookup, value in lookups.items()}
    return Q(**prefixed)


def require(viewer: Viewer, permission: Permission) -> Scope:
    scope = viewer.scope(permission)
    if scope is Scope.NONE:
        raise Forbidden(
            f"Your roles ({', '.join(sorted(viewer.roles)) or 'none'}) do not grant "
            f"{permission.value}; ask an administrator of your organization for a role that does."
        )
    return scope


def visible_bookings(viewer: Viewer, *, include_partners: bool = False) -> QuerySet[Booking]:
    """Select the bookings the viewer may read."""
    return Booking.filter(visible_booking_condition(viewer, include_partners=include_partners))


def visible_booking_condition(
    viewer: Viewer, *, include_partners: bool = False, path: str = ""
) -> Q:
    """Match the bookings the viewer may read, at `path` (such as "booking__") from the model.

    Bookings sold by the viewer's organization are always included. With `include_partners`, so
    are bookings that ACTIVE partners sold on the viewer's own activities: the supplier runs
    those trips and needs their guests, but their buyers stay the partner's. Lists of rows that
    hang off a booking filter on this condition through their join rather than on a subquery
    of booking ids, so that the database can start from the side the list is sorted on.
    """
    scope = require(viewer, Permission.READ_BOOKINGS)

    sold_here = sold_condition(
        viewer,
        include_partners=include_partners,
        seller=f"{path}seller_id",
        on_own_activities=condition_at(
            path, departure__activity__organization_id=viewer.organization_id
        ),
    )

    if scope is Scope.OWN:
        return sold_here & condition_at(path, created_by_id=viewer.user_id)
    if scope is Scope.GUIDED:
        return sold_here & condition_at(path, departure_id__in=guided_departure_ids(viewer.user_id))
    return sold_here


def sold_condition(
    viewer: Viewer, *, include_partners: bool, seller: str, on_own_activities: Q
) -> Q:
    """Match what the viewer's organization sold and, with `include_partners`, what its ACTIVE
    partners sold `on_own_activities`, given the path of the seller.

    The bookings lists and their tallies (models/queries/tally.py) both apply this rule.
    """
    organization_id = viewer.organization_id
    own_sales: dict[str, Any] = {seller: organization_id}
    sold_here = Q(**own_sales)
    if include_partners:
        partner_sellers: dict[str, Any] = {f"{seller}__in": active_partner_ids(organization_id)}
        sold_here |= on_own_activities & Q(**partner_sellers)
    return sold_here


class SoldBooking(Protocol):
    """The booking fields that `may_see_buyer` reads, on a model or on a plain page row."""

    seller_id: int
    created_by_id: int | None


def may_see_buyer(viewer: Viewer, booking: SoldBooking) -> bool:
    """Tell whether the viewer may read the buyer and amounts of a booking it can already read.

    Only the seller sees its buyers; a supplier reading a partner's booking never does.
    """
    if booking.seller_id != viewer.organization_id:
        return False
    scope = viewer.scope(Permission.READ_CUSTOMERS)
    if scope is Scope.ALL:
        return True
    return scope is Scope.OWN and booking.created_by_id == viewer.user_id
