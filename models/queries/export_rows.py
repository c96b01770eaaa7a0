"""The rows of the three lists for CSV exports, as one unordered statement and its sort order.

The statement is the list's own filter (the same query functions the API pages through), so an
export contains exactly the rows the list shows. The export wraps it in the statement that formats
the cells and sorts.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models.access import Viewer
from models.catalog import CustomField
from models.queries.customers import CustomerFilter, customers_query
from models.queries.guests import GuestFilter, guests_query
from models.queries.streaming import client_of, values_statement
from models.queries.users import UserFilter, users_query
from models.queries.visibility import active_supplier_ids

GUEST_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "category",
    "checked_in_at",
    "booking_id",
    "booking__reference",
    "booking__status",
    "booking__seller_id",
    "booking__seller__name",
    "booking__departure__starts_at",
    "booking__departure__activity__name",
    "booking__buyer__first_name",
    "booking__buyer__last_name",
    "booking__buyer__email",
)

CUSTOMER_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "language",
    "marketing_consent",
    "booking_count",
    "total_spent",
    "first_booking_at",
    "last_booking_at",
)

USER_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "last_sign_in_at",
    "created_at",
)

GUEST_ORDER = ("booking__departure__starts_at", "id")
CUSTOMER_ORDER = ("last_name", "id")
USER_ORDER = ("email", "id")


@dataclass(frozen=True, slots=True)
class SourceQuery:
    """A list's rows as SQL with its parameters, the columns that order them, and its database."""

    sql: str
    parameters: list[Any]
    order: tuple[str, ...]
    client: BaseDBAsyncClient


def _source(queryset: QuerySet[Any], columns: Sequence[str], order: tuple[str, ...]) -> SourceQuery:
    query = queryset.values(*columns)
    sql, parameters = values_statement(query)
    return SourceQuery(sql, parameters, order, client_of(query))


async def guest_custom_fields(viewer: Viewer, guest_filter: GuestFilter) -> list[CustomField]:
    """Return the questions whose answers a guests export has columns for.

    Guests are on the viewer's activities or, for a partner, on its suppliers' activities, so the
    questions are those of the viewer's organization and of its ACTIVE suppliers.
    """
    asked_by = Q(organization_id=viewer.organization_id) | Q(
        organization_id__in=active_supplier_ids(viewer.organization_id)
    )
    return await CustomField.filter(asked_by).order_by("organization_id", "scope", "position", "id")


def guest_source(viewer: Viewer, guest_filter: GuestFilter) -> SourceQuery:
    """Select guests with their booking, departure, seller and buyer; ordered by trip start."""
    return _source(guests_query(viewer, guest_filter), GUEST_COLUMNS, GUEST_ORDER)


def customer_source(viewer: Viewer, customer_filter: CustomerFilter) -> SourceQuery:
    """Select customers; ordered by last name."""
    return _source(customers_query(viewer, customer_filter), CUSTOMER_COLUMNS, CUSTOMER_ORDER)


def user_source(viewer: Viewer, user_filter: UserFilter) -> SourceQuery:
    """Select users; ordered by email. Their roles come from the formatting statement."""
    return _source(users_query(viewer, user_filter), USER_COLUMNS, USER_ORDER)
