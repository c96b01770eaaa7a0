"""Signing in and out."""

from datetime import datetime
from typing import Annotated

import strawberry

from models.commands import auth
from models.errors import InputErrors
from schema.context import Info
from schema.errors import UserError, user_errors
from schema.users.types import User


@strawberry.input(description="Credentials of a back-office user.")
class LoginInput:
    email: str = strawberry.field(description="Sign-in email; case does not matter.")
    password: str = strawberry.field(description="Password.")


@strawberry.type(description="Result of signing in.")
class LoginPayload:
    token: str | None = strawberry.field(
        description="Bearer token: send it as `Authorization: Bearer <token>`."
    )
    expires_at: datetime | None = strawberry.field(description="When the token stops working.")
    user: User | None = strawberry.field(description="The signed-in user.")
    errors: list[UserError] = strawberry.field(description="Why signing in failed, if it did.")


@strawberry.type(description="Result of signing out.")
class LogoutPayload:
    revoked: bool = strawberry.field(
        description="True when the request's token was valid and is now revoked."
    )


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        description=(
            "Sign in with email and password and receive a bearer token. After repeated "
            "failures the account is locked for a growing delay."
        )
    )
    async def login(
        self,
        info: Info,
        input: Annotated[LoginInput, strawberry.argument(description="Email and password.")],
    ) -> LoginPayload:
        try:
            signed_in = await auth.sign_in(
                input.email, input.password, token_ttl=info.context.token_ttl
            )
        except InputErrors as error:
            return LoginPayload(token=None, expires_at=None, user=None, errors=user_errors(error))
        return LoginPayload(
            token=signed_in.token,
            expires_at=signed_in.expires_at,
            user=User.from_row(signed_in.user),
            errors=[],
        )

    @strawberry.mutation(description="Revoke the bearer token this request was sent with.")
    async def logout(self, info: Info) -> LogoutPayload:
        info.context.require_viewer()
        token = info.context.token
        return LogoutPayload(revoked=bool(token) and await auth.sign_out(token or ""))
