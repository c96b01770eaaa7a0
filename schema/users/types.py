"""Back-office users."""

from datetime import datetime

import strawberry

from models import users
from models.enums import Role
from schema.common import Organization
from schema.context import Info
from schema.relay import Node, to_global_id


@strawberry.type(description="A back-office account of your organization.")
class User(Node):
    email: str = strawberry.field(description="Sign-in email, lower case.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    is_active: bool = strawberry.field(description="False once deactivated: it cannot sign in.")
    last_sign_in_at: datetime | None = strawberry.field(description="Latest sign-in, if any.")
    created_at: datetime = strawberry.field(description="When the account was created.")
    pk: strawberry.Private[int]
    organization_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: users.User) -> "User":
        return cls(
            id=to_global_id("User", row.id),
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            is_active=row.is_active,
            last_sign_in_at=row.last_sign_in_at,
            created_at=row.created_at,
            pk=row.id,
            organization_pk=row.organization_id,
        )

    @strawberry.field(description="Roles of the user; they decide what it may see and do.")
    async def roles(self, info: Info) -> list[Role]:
        rows = await info.context.loaders.roles_by_user_id.load(self.pk)
        return [row.role for row in rows]

    @strawberry.field(description="The organization the user works for.")
    async def organization(self, info: Info) -> Organization:
        row = await info.context.loaders.organization_by_id.load(self.organization_pk)
        assert row is not None, "app_user.organization_id is a foreign key"
        return Organization.from_row(row)
