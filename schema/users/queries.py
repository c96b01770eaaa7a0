"""The `users` list and the signed-in `viewer`."""

from enum import Enum
from typing import Annotated

import strawberry

from models.enums import Role
from models.queries.users import UserFilter, UserSort, list_users
from models.users import User as UserRow
from schema.common import SortDirection
from schema.context import Info, viewer_of
from schema.relay import AFTER, BEFORE, FIRST, LAST, Connection, build_connection, page_request
from schema.users.types import User


@strawberry.enum(description="What to sort users by.")
class UserOrderField(Enum):
    LAST_NAME = UserSort.LAST_NAME.value
    EMAIL = UserSort.EMAIL.value
    CREATED_AT = UserSort.CREATED_AT.value


@strawberry.input(description="Sort order of a users list; ties are broken by ID.")
class UserOrder:
    field: UserOrderField = strawberry.field(
        default=UserOrderField.LAST_NAME, description="Column to sort by."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="Ascending or descending."
    )


@strawberry.input(description="Filters of a users list; all given filters must match.")
class UserFilterInput:
    search: str | None = strawberry.field(
        default=None, description="Part of the name or email; case-insensitive."
    )
    role: list[Role] | None = strawberry.field(
        default=None, description="Users with any of these roles."
    )
    is_active: bool | None = strawberry.field(
        default=None, description="Only active (true) or deactivated (false) users."
    )


@strawberry.type
class UserQueries:
    @strawberry.field(description="The signed-in user.")
    async def viewer(self, info: Info) -> User:
        viewer = viewer_of(info)
        return User.from_row(await UserRow.get(id=viewer.user_id))

    @strawberry.field(description="Back-office users of your organization. Admins only.")
    async def users(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
        filter: Annotated[
            UserFilterInput | None, strawberry.argument(description="Filters to apply.")
        ] = None,
        order_by: Annotated[
            UserOrder | None, strawberry.argument(description="Sort order.")
        ] = None,
    ) -> Connection[User]:
        value = filter or UserFilterInput()
        order = order_by or UserOrder()
        page = await list_users(
            viewer_of(info),
            UserFilter(
                search=value.search or "", roles=tuple(value.role or ()), is_active=value.is_active
            ),
            UserSort(order.field.value),
            order.direction is SortDirection.DESC,
            page_request(first, after, last, before),
        )
        return build_connection(page, User.from_row)
