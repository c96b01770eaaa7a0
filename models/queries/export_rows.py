"""Rows of the three lists for CSV exports, streamed in batches from one ordered statement.

Each batch costs at most one more query, for its answers or roles, so memory stays flat however
long the list is. Rows are plain dicts: building model objects for a million rows would cost
several times more.
"""

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models.access import Viewer
from models.bookings import CustomFieldAnswer
from models.catalog import CustomField
from models.queries.customers import CustomerFilter, customers_query
from models.queries.guests import GuestFilter, guests_query
from models.queries.streaming import stream_values
from models.queries.users import UserFilter, users_query
from models.queries.visibility import active_supplier_ids
from models.users import UserRole

BATCH_SIZE = 2000

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

GUEST_ORDER = ("booking__departure__starts_at", "id")
CUSTOMER_ORDER = ("last_name", "id")
USER_ORDER = ("email", "id")

USER_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "is_active",
    "last_sign_in_at",
    "created_at",
)


async def _batches(
    queryset: QuerySet[Any], columns: Sequence[str], order: Sequence[str], batch_size: int | None
) -> AsyncIterator[list[dict[str, Any]]]:
    # BATCH_SIZE is read here, not bound as a default argument, so a changed value applies.
    query = queryset.order_by(*order).values(*columns)
    async for rows in stream_values(query, batch_size or BATCH_SIZE):
        yield rows


async def guest_custom_fields(viewer: Viewer, guest_filter: GuestFilter) -> list[CustomField]:
    """Return the questions whose answers a guests export has columns for.

    Guests are on the viewer's activities or, for a partner, on its suppliers' activities, so the
    questions are those of the viewer's organization and of its ACTIVE suppliers.
    """
    asked_by = Q(organization_id=viewer.organization_id) | Q(
        organization_id__in=active_supplier_ids(viewer.organization_id)
    )
    return await CustomField.filter(asked_by).order_by("organization_id", "scope", "position", "id")


async def guest_rows(
    viewer: Viewer, guest_filter: GuestFilter, *, batch_size: int | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield guests in batches, ordered by trip start, with `answers` by custom field id.

    Buyer columns are blanked for bookings another organization sold: buyers stay the seller's.
    """
    queryset = guests_query(viewer, guest_filter)
    async for rows in _batches(queryset, GUEST_COLUMNS, GUEST_ORDER, batch_size):
        await _attach_answers(rows)
        for row in rows:
            if row["booking__seller_id"] != viewer.organization_id:
                row["booking__buyer__first_name"] = ""
                row["booking__buyer__last_name"] = ""
                row["booking__buyer__email"] = ""
        yield rows


async def _attach_answers(rows: list[dict[str, Any]]) -> None:
    # Every answer, for the booking or for one of its guests, carries the booking id, so one
    # indexed lookup by booking fetches both kinds. An OR of two conditions scanned the table.
    booking_ids = {row["booking_id"] for row in rows}
    answers = await CustomFieldAnswer.filter(booking_id__in=booking_ids).values(
        "booking_id", "guest_id", "custom_field_id", "value"
    )

    by_booking: dict[int, dict[int, str]] = defaultdict(dict)
    by_guest: dict[int, dict[int, str]] = defaultdict(dict)
    for answer in answers:
        if answer["guest_id"] is None:
            by_booking[answer["booking_id"]][answer["custom_field_id"]] = answer["value"]
        else:
            by_guest[answer["guest_id"]][answer["custom_field_id"]] = answer["value"]
    for row in rows:
        row["answers"] = {**by_booking.get(row["booking_id"], {}), **by_guest.get(row["id"], {})}


async def customer_rows(
    viewer: Viewer,
    customer_filter: CustomerFilter,
    *,
    batch_size: int | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield customers in batches, ordered by last name."""
    queryset = customers_query(viewer, customer_filter)
    async for rows in _batches(queryset, CUSTOMER_COLUMNS, CUSTOMER_ORDER, batch_size):
        yield rows


async def user_rows(
    viewer: Viewer, user_filter: UserFilter, *, batch_size: int | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield users in batches, ordered by email, with their `roles`."""
    queryset = users_query(viewer, user_filter)
    async for rows in _batches(queryset, USER_COLUMNS, USER_ORDER, batch_size):
        roles: dict[int, list[str]] = defaultdict(list)
        user_ids = [row["id"] for row in rows]
        for role in (
            await UserRole.filter(user_id__in=user_ids).order_by("role").values("user_id", "role")
        ):
            roles[role["user_id"]].append(str(role["role"]))
        for row in rows:
            row["roles"] = roles.get(row["id"], [])
        yield rows
