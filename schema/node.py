"""`node(id:)`: fetch any object by its global ID, if the viewer may see it."""

from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry
from tortoise.expressions import Q, Subquery

from models import bookings, catalog, organizations
from models.access import Permission, Viewer
from models.commands.exports import visible_exports
from models.errors import Forbidden, NotFound
from models.queries.customers import CustomerFilter, customers_query, limit_figures_to_viewer
from models.queries.departures import DepartureFilter, departures_query
from models.queries.users import UserFilter, users_query
from models.queries.visibility import (
    active_partner_ids,
    active_supplier_ids,
    require,
    visible_bookings,
)
from models.users import User as UserRow
from schema.bookings.types import Booking
from schema.common import Organization
from schema.context import Info, viewer_of
from schema.customers.types import Customer
from schema.departures.types import Activity, CustomFieldDefinition, Departure
from schema.exports.types import Export
from schema.guests.types import Guest
from schema.relay import Node, from_global_id
from schema.users.types import User

NodeResolver = Callable[[Viewer, int], Awaitable[Node | None]]


async def _booking(viewer: Viewer, pk: int) -> Node | None:
    row = await visible_bookings(viewer, include_partners=True).get_or_none(id=pk)
    return Booking.from_row(row) if row else None


async def _guest(viewer: Viewer, pk: int) -> Node | None:
    readable = visible_bookings(viewer, include_partners=True).values("id")
    row = await bookings.Guest.get_or_none(id=pk, booking_id__in=Subquery(readable))
    return Guest.from_row(row) if row else None


async def _customer(viewer: Viewer, pk: int) -> Node | None:
    row = await customers_query(viewer, CustomerFilter()).get_or_none(id=pk)
    if row is None:
        return None
    await limit_figures_to_viewer(viewer, [row])
    return Customer.from_row(row, viewer.currency)


async def _user(viewer: Viewer, pk: int) -> Node | None:
    if pk == viewer.user_id:
        return User.from_row(await UserRow.get(id=pk))
    row = await users_query(viewer, UserFilter()).get_or_none(id=pk)
    return User.from_row(row) if row else None


async def _departure(viewer: Viewer, pk: int) -> Node | None:
    row = await departures_query(viewer, DepartureFilter(include_suppliers=True)).get_or_none(id=pk)
    return Departure.from_row(row) if row else None


async def _activity(viewer: Viewer, pk: int) -> Node | None:
    require(viewer, Permission.READ_CATALOG)
    offered = Q(organization_id=viewer.organization_id) | Q(
        organization_id__in=active_supplier_ids(viewer.organization_id)
    )
    row = await catalog.Activity.filter(offered).get_or_none(id=pk)
    return Activity.from_row(row) if row else None


async def _custom_field(viewer: Viewer, pk: int) -> Node | None:
    require(viewer, Permission.READ_CATALOG)
    row = await catalog.CustomField.get_or_none(id=pk, organization_id=viewer.organization_id)
    return CustomFieldDefinition.from_row(row) if row else None


async def _organization(viewer: Viewer, pk: int) -> Node | None:
    connected = (
        Q(id=viewer.organization_id)
        | Q(id__in=active_partner_ids(viewer.organization_id))
        | Q(id__in=active_supplier_ids(viewer.organization_id))
    )
    row = await organizations.Organization.filter(connected).get_or_none(id=pk)
    return Organization.from_row(row) if row else None


async def _export(viewer: Viewer, pk: int) -> Node | None:
    row = await visible_exports(viewer).get_or_none(id=pk)
    return Export.from_row(row) if row else None


NODE_RESOLVERS: dict[str, NodeResolver] = {
    "Export": _export,
    "Booking": _booking,
    "Guest": _guest,
    "Customer": _customer,
    "User": _user,
    "Departure": _departure,
    "Activity": _activity,
    "CustomField": _custom_field,
    "Organization": _organization,
}


async def resolve_node(viewer: Viewer, global_id: str) -> Node:
    type_name, pk = from_global_id(global_id)
    resolver = NODE_RESOLVERS.get(type_name)
    if resolver is None:
        raise NotFound(f"No object has ID {global_id!r}.")
    try:
        node = await resolver(viewer, pk)
    except Forbidden:
        # Lacking the permission to read a kind of object must look like the object is absent.
        node = None
    if node is None:
        raise NotFound(f"No object has ID {global_id!r}.")
    return node


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Fetch any object by its global ID.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="Global ID of the object.")],
    ) -> Node:
        return await resolve_node(viewer_of(info), id)
