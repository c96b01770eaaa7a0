"""The users list: the back-office staff of the viewer's organization."""

from dataclasses import dataclass
from enum import StrEnum

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.access import Permission, Viewer
from models.enums import Role
from models.pagination import Page, PageRequest, SortKey, SortValueKind, paginate
from models.queries.bookings import check_search
from models.queries.visibility import require
from models.users import User, UserRole


class UserSort(StrEnum):
    LAST_NAME = "LAST_NAME"
    EMAIL = "EMAIL"
    CREATED_AT = "CREATED_AT"


USER_SORT_KEYS = {
    UserSort.LAST_NAME: SortKey("last_name", SortValueKind.TEXT, lambda u: u.last_name),
    UserSort.EMAIL: SortKey("email", SortValueKind.TEXT, lambda u: u.email),
    UserSort.CREATED_AT: SortKey("created_at", SortValueKind.DATETIME, lambda u: u.created_at),
}


@dataclass(frozen=True, slots=True)
class UserFilter:
    search: str = ""
    roles: tuple[Role, ...] = ()
    is_active: bool | None = None


def users_query(viewer: Viewer, user_filter: UserFilter) -> QuerySet[User]:
    require(viewer, Permission.MANAGE_USERS)
    check_search(user_filter.search)

    queryset = User.filter(organization_id=viewer.organization_id)
    if user_filter.roles:
        with_role = UserRole.filter(role__in=list(user_filter.roles)).values("user_id")
        queryset = queryset.filter(id__in=Subquery(with_role))
    if user_filter.is_active is not None:
        queryset = queryset.filter(is_active=user_filter.is_active)

    search = user_filter.search.strip()
    if search:
        queryset = queryset.filter(
            Q(email__icontains=search.lower())
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    return queryset


async def list_users(
    viewer: Viewer, user_filter: UserFilter, sort: UserSort, descending: bool, page: PageRequest
) -> Page[User]:
    sort_key = USER_SORT_KEYS[sort]
    if descending:
        sort_key = sort_key.reversed()
    return await paginate(users_query(viewer, user_filter), sort_key, page)
