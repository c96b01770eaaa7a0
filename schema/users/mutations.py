"""Creating users, changing their roles and deactivating them."""

from typing import Annotated

import strawberry

from models.commands import users as commands
from models.enums import Role
from models.errors import InputErrors
from schema.context import Info, viewer_of
from schema.errors import UserError, user_errors
from schema.relay import pk_of
from schema.users.types import User

INPUT = strawberry.argument(description="What to change.")


@strawberry.input(description="A new back-office user of your organization.")
class CreateUserInput:
    email: str = strawberry.field(description="Sign-in email; must not be in use.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    password: str = strawberry.field(description="Initial password, at least 10 characters.")
    roles: list[Role] = strawberry.field(description="At least one role.")


@strawberry.input(description="The complete new set of roles of a user.")
class UpdateUserRolesInput:
    id: strawberry.ID = strawberry.field(description="ID of the user.")
    roles: list[Role] = strawberry.field(description="At least one role; replaces the old set.")


@strawberry.input(description="The user to deactivate.")
class DeactivateUserInput:
    id: strawberry.ID = strawberry.field(description="ID of the user.")


@strawberry.type(description="Result of a user mutation.")
class UserPayload:
    user: User | None = strawberry.field(description="The user; null when `errors` is not empty.")
    errors: list[UserError] = strawberry.field(description="Problems with the input, if any.")


@strawberry.type
class UserMutations:
    @strawberry.mutation(description="Create a back-office user. Admins only.")
    async def create_user(
        self,
        info: Info,
        input: Annotated[CreateUserInput, INPUT],
    ) -> UserPayload:
        try:
            row = await commands.create_user_as(
                viewer_of(info),
                commands.UserInput(
                    email=input.email,
                    first_name=input.first_name,
                    last_name=input.last_name,
                    password=input.password,
                    roles=tuple(input.roles),
                ),
            )
        except InputErrors as error:
            return UserPayload(user=None, errors=user_errors(error))
        return UserPayload(user=User.from_row(row), errors=[])

    @strawberry.mutation(description="Replace the roles of a user. Admins only.")
    async def update_user_roles(
        self,
        info: Info,
        input: Annotated[UpdateUserRolesInput, INPUT],
    ) -> UserPayload:
        try:
            row = await commands.update_user_roles(
                viewer_of(info), pk_of(input.id, "User", "input.id"), tuple(input.roles)
            )
        except InputErrors as error:
            return UserPayload(user=None, errors=user_errors(error))
        return UserPayload(user=User.from_row(row), errors=[])

    @strawberry.mutation(description="Deactivate a user and sign it out everywhere. Admins only.")
    async def deactivate_user(
        self,
        info: Info,
        input: Annotated[DeactivateUserInput, INPUT],
    ) -> UserPayload:
        try:
            row = await commands.deactivate_user(
                viewer_of(info), pk_of(input.id, "User", "input.id")
            )
        except InputErrors as error:
            return UserPayload(user=None, errors=user_errors(error))
        return UserPayload(user=User.from_row(row), errors=[])
