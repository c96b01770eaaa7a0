"""Changing a guest."""

from typing import Annotated

import strawberry

from models.commands import bookings as commands
from models.enums import GuestCategory
from models.errors import InputErrors
from schema.bookings.mutations import CustomFieldAnswerInput
from schema.context import Info, viewer_of
from schema.errors import UserError, user_errors
from schema.guests.types import Guest
from schema.relay import pk_of


@strawberry.input(description="Changes to a guest; fields left out stay as they are.")
class UpdateGuestInput:
    id: strawberry.ID = strawberry.field(description="ID of the guest.")
    first_name: str | None = strawberry.field(default=None, description="New first name.")
    last_name: str | None = strawberry.field(default=None, description="New last name.")
    email: str | None = strawberry.field(default=None, description="New email; empty clears.")
    phone: str | None = strawberry.field(default=None, description="New phone; empty clears.")
    category: GuestCategory | None = strawberry.field(default=None, description="New category.")
    checked_in: bool | None = strawberry.field(
        default=None, description="True checks the guest in now; false undoes the check-in."
    )
    answers: list[CustomFieldAnswerInput] | None = strawberry.field(
        default=None, description="The complete new set of answers; replaces the old ones."
    )


@strawberry.type(description="Result of changing a guest.")
class GuestPayload:
    guest: Guest | None = strawberry.field(
        description="The guest; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(description="Problems with the input, if any.")


@strawberry.type
class GuestMutations:
    @strawberry.mutation(description="Change a guest's details, check-in or answers.")
    async def update_guest(
        self,
        info: Info,
        input: Annotated[UpdateGuestInput, strawberry.argument(description="The changes.")],
    ) -> GuestPayload:
        answers = None
        if input.answers is not None:
            answers = [(answer.key, answer.value) for answer in input.answers]
        changes = commands.GuestChanges(
            first_name=input.first_name,
            last_name=input.last_name,
            email=input.email,
            phone=input.phone,
            category=input.category,
            checked_in=input.checked_in,
            answers=answers,
        )
        try:
            row = await commands.update_guest(
                viewer_of(info), pk_of(input.id, "Guest", "input.id"), changes
            )
        except InputErrors as error:
            return GuestPayload(guest=None, errors=user_errors(error))
        return GuestPayload(guest=Guest.from_row(row), errors=[])
