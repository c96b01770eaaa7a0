"""Creating and cancelling bookings."""

from decimal import Decimal
from typing import Annotated

import strawberry

from models.commands import bookings as commands
from models.enums import BookingStatus, GuestCategory
from models.errors import InputErrors
from schema.bookings.types import Booking
from schema.context import Info, viewer_of
from schema.errors import UserError, user_errors
from schema.relay import pk_of


@strawberry.input(description="An answer to a custom question, by the question's key.")
class CustomFieldAnswerInput:
    key: str = strawberry.field(description="Key of the custom field, such as `weight_kg`.")
    value: str = strawberry.field(
        description="The answer as text: `72.5`, `true`, `2026-07-14` or one of the options."
    )


@strawberry.input(description="The person paying for the booking.")
class BuyerInput:
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    email: str = strawberry.field(description="Email address for the receipt.")
    phone: str = strawberry.field(default="", description="Phone number.")
    country: str = strawberry.field(default="", description="ISO 3166 alpha-2 code, e.g. CH.")
    language: str = strawberry.field(default="", description="Language tag, e.g. de or en-GB.")
    marketing_consent: bool = strawberry.field(
        default=False, description="True when the buyer agrees to marketing email."
    )


@strawberry.input(description="A person on the booking.")
class GuestInput:
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    email: str = strawberry.field(default="", description="Email address, optional.")
    phone: str = strawberry.field(default="", description="Phone number, optional.")
    category: GuestCategory = strawberry.field(
        default=GuestCategory.ADULT, description="Fare category."
    )
    answers: list[CustomFieldAnswerInput] = strawberry.field(
        default_factory=list, description="Answers to the per-guest questions."
    )


@strawberry.input(description="A new booking on a departure.")
class CreateBookingInput:
    departure: strawberry.ID = strawberry.field(
        description="ID of a departure of your organization or of an ACTIVE supplier."
    )
    buyer: BuyerInput = strawberry.field(description="Who pays.")
    guests: list[GuestInput] = strawberry.field(description="Who travels: 1 to 50 guests.")
    total_amount: Decimal = strawberry.field(
        description="Total price in your organization's currency, at most 2 decimal places."
    )
    answers: list[CustomFieldAnswerInput] = strawberry.field(
        default_factory=list, description="Answers to the per-booking questions."
    )
    status: BookingStatus = strawberry.field(
        default=BookingStatus.CONFIRMED, description="CONFIRMED or PENDING."
    )


@strawberry.input(description="The booking to cancel.")
class CancelBookingInput:
    id: strawberry.ID = strawberry.field(description="ID of the booking.")


@strawberry.type(description="Result of a booking mutation.")
class BookingPayload:
    booking: Booking | None = strawberry.field(
        description="The booking; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(description="Problems with the input, if any.")


def _answers(values: list[CustomFieldAnswerInput]) -> list[tuple[str, str]]:
    return [(answer.key, answer.value) for answer in values]


def booking_input(value: CreateBookingInput) -> commands.BookingInput:
    buyer = value.buyer
    return commands.BookingInput(
        departure_id=pk_of(value.departure, "Departure", "input.departure"),
        buyer=commands.BuyerInput(
            first_name=buyer.first_name,
            last_name=buyer.last_name,
            email=buyer.email,
            phone=buyer.phone,
            country=buyer.country,
            language=buyer.language,
            marketing_consent=buyer.marketing_consent,
        ),
        guests=[
            commands.GuestInput(
                first_name=guest.first_name,
                last_name=guest.last_name,
                email=guest.email,
                phone=guest.phone,
                category=guest.category,
                answers=_answers(guest.answers),
            )
            for guest in value.guests
        ],
        total_amount=value.total_amount,
        answers=_answers(value.answers),
        status=value.status,
    )


@strawberry.type
class BookingMutations:
    @strawberry.mutation(
        description=(
            "Book guests on a departure. The buyer, guests and answers are checked against "
            "the supplier's custom fields and the seats left; all rows are written or none."
        )
    )
    async def create_booking(
        self,
        info: Info,
        input: Annotated[CreateBookingInput, strawberry.argument(description="The booking.")],
    ) -> BookingPayload:
        try:
            row = await commands.create_booking(viewer_of(info), booking_input(input))
        except InputErrors as error:
            return BookingPayload(booking=None, errors=user_errors(error))
        return BookingPayload(booking=Booking.from_row(row), errors=[])

    @strawberry.mutation(description="Cancel a booking; its seats become free again.")
    async def cancel_booking(
        self,
        info: Info,
        input: Annotated[CancelBookingInput, strawberry.argument(description="The booking.")],
    ) -> BookingPayload:
        try:
            row = await commands.cancel_booking(
                viewer_of(info), pk_of(input.id, "Booking", "input.id")
            )
        except InputErrors as error:
            return BookingPayload(booking=None, errors=user_errors(error))
        return BookingPayload(booking=Booking.from_row(row), errors=[])
