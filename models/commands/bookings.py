"""Creating and cancelling bookings, and changing guests."""

import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.access import Permission, Scope, Viewer
from models.bookings import Booking, Buyer, CustomFieldAnswer, Guest
from models.catalog import CustomField, Departure
from models.commands import validation as check
from models.customers import Customer
from models.enums import (
    BookingChannel,
    BookingStatus,
    CustomFieldScope,
    GuestCategory,
    PartnerConnectionStatus,
)
from models.errors import ErrorCode, InputError, InputErrors, NotFound
from models.organizations import PartnerConnection
from models.queries.departures import seats_taken
from models.queries.visibility import require, visible_bookings

logger = logging.getLogger(__name__)

MAX_GUESTS_PER_BOOKING = 50
# Letters and digits that cannot be mistaken for each other when read out on the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True, slots=True)
class BuyerInput:
    first_name: str
    last_name: str
    email: str
    phone: str = ""
    country: str = ""
    language: str = ""
    marketing_consent: bool = False


@dataclass(frozen=True, slots=True)
class GuestInput:
    first_name: str
    last_name: str
    email: str = ""
    phone: str = ""
    category: GuestCategory = GuestCategory.ADULT
    answers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BookingInput:
    departure_id: int
    buyer: BuyerInput
    guests: list[GuestInput]
    total_amount: Decimal
    answers: list[tuple[str, str]] = field(default_factory=list)
    status: BookingStatus = BookingStatus.CONFIRMED


@dataclass(frozen=True, slots=True)
class GuestChanges:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    category: GuestCategory | None = None
    checked_in: bool | None = None
    answers: list[tuple[str, str]] | None = None


def new_reference() -> str:
    return "TD-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


async def _bookable_departure(viewer: Viewer, departure_id: int) -> Departure:
    """Fetch a departure of the viewer's organization or of a supplier with an ACTIVE connection."""
    departure = await Departure.get_or_none(id=departure_id).select_related(
        "activity__organization"
    )
    if departure is None:
        raise NotFound(f"Departure {departure_id} was not found.")
    supplier_id = departure.activity.organization_id
    if supplier_id == viewer.organization_id:
        return departure
    connected = await PartnerConnection.exists(
        supplier_id=supplier_id,
        partner_id=viewer.organization_id,
        status=PartnerConnectionStatus.ACTIVE,
    )
    if not connected:
        raise NotFound(f"Departure {departure_id} was not found.")
    return departure


def _check_buyer(buyer: BuyerInput, errors: list[InputError]) -> None:
    check.check_name("buyer.firstName", buyer.first_name, errors)
    check.check_name("buyer.lastName", buyer.last_name, errors)
    check.check_email("buyer.email", buyer.email, errors, required=True)
    check.check_pattern(
        "buyer.phone", buyer.phone.strip(), check.PHONE_PATTERN, "use digits, spaces and +", errors
    )
    check.check_pattern(
        "buyer.country",
        buyer.country.strip(),
        check.COUNTRY_PATTERN,
        "use an ISO 3166 alpha-2 code such as CH",
        errors,
    )
    check.check_pattern(
        "buyer.language",
        buyer.language.strip(),
        check.LANGUAGE_PATTERN,
        "use a language tag such as de or en-GB",
        errors,
    )


def _check_guest(path: str, guest: GuestInput, errors: list[InputError]) -> None:
    check.check_name(f"{path}.firstName", guest.first_name, errors)
    check.check_name(f"{path}.lastName", guest.last_name, errors)
    check.check_email(f"{path}.email", guest.email, errors, required=False)
    check.check_pattern(
        f"{path}.phone",
        guest.phone.strip(),
        check.PHONE_PATTERN,
        "use digits, spaces and +",
        errors,
    )


async def _custom_fields(organization_id: int, scope: CustomFieldScope) -> list[CustomField]:
    return await CustomField.filter(organization_id=organization_id, scope=scope).order_by(
        "position", "id"
    )


@dataclass(slots=True)
class _CheckedBooking:
    booking_answers: dict[int, str]
    guest_answers: list[dict[int, str]]


async def _check_booking(
    viewer: Viewer, departure: Departure, booking: BookingInput
) -> _CheckedBooking:
    errors: list[InputError] = []
    _check_buyer(booking.buyer, errors)
    check.check_amount("totalAmount", booking.total_amount, errors)
    if booking.status is BookingStatus.CANCELLED:
        errors.append(InputError("status", ErrorCode.INVALID, "A new booking cannot be CANCELLED."))

    if not 1 <= len(booking.guests) <= MAX_GUESTS_PER_BOOKING:
        errors.append(
            InputError(
                "guests",
                ErrorCode.INVALID,
                f"A booking has {len(booking.guests)} guests; it needs between 1 and "
                f"{MAX_GUESTS_PER_BOOKING}.",
            )
        )

    supplier_id = departure.activity.organization_id
    booking_fields = await _custom_fields(supplier_id, CustomFieldScope.BOOKING)
    guest_fields = await _custom_fields(supplier_id, CustomFieldScope.GUEST)
    booking_answers = check.normalise_answers("answers", booking_fields, booking.answers, errors)
    guest_answers = []
    for index, guest in enumerate(booking.guests):
        _check_guest(f"guests.{index}", guest, errors)
        guest_answers.append(
            check.normalise_answers(f"guests.{index}.answers", guest_fields, guest.answers, errors)
        )

    if errors:
        raise InputErrors(errors)
    return _CheckedBooking(booking_answers, guest_answers)


async def create_booking(viewer: Viewer, booking: BookingInput) -> Booking:
    """Create a booking with its buyer, guests and answers, all or nothing."""
    require(viewer, Permission.WRITE_BOOKINGS)
    if booking.total_amount.is_zero():
        # "-0" is a valid decimal; stored as it is, it would show as -0.00 on receipts.
        booking = replace(booking, total_amount=booking.total_amount.copy_abs())
    departure = await _bookable_departure(viewer, booking.departure_id)
    checked = await _check_booking(viewer, departure, booking)

    # Two first bookings of the same new customer may race to insert the customer row. The
    # loser's transaction fails on the unique key, so it is tried once more and then updates.
    try:
        created = await _insert_booking(viewer, departure, booking, checked)
    except IntegrityError:
        logger.info("Retrying booking on departure %s after a customer insert race", departure.id)
        created = await _insert_booking(viewer, departure, booking, checked)

    logger.info(
        "Booking %s created on departure %s by user %s",
        created.id,
        departure.id,
        viewer.user_id,
    )
    return created


async def _insert_booking(
    viewer: Viewer, departure: Departure, booking: BookingInput, checked: _CheckedBooking
) -> Booking:
    now = datetime.now(UTC)
    is_partner_sale = departure.activity.organization_id != viewer.organization_id

    async with in_transaction():
        await _reserve_seats(departure, len(booking.guests), booking.status)
        customer = await _upsert_customer(viewer, booking, now)
        created = await Booking.create(
            reference=new_reference(),
            seller_id=viewer.organization_id,
            departure_id=departure.id,
            customer_id=customer.id,
            created_by_id=viewer.user_id,
            status=booking.status,
            channel=BookingChannel.PARTNER if is_partner_sale else BookingChannel.BACK_OFFICE,
            total_amount=booking.total_amount,
            currency=viewer.currency,
            created_at=now,
            # The database sets it from the departure in any case (migration 0008). Written
            # here, it spares SQLite's trigger a second write and the returned booking has it.
            trip_starts_on=departure.starts_on,
        )
        await Buyer.create(
            booking_id=created.id,
            first_name=booking.buyer.first_name.strip(),
            last_name=booking.buyer.last_name.strip(),
            email=booking.buyer.email.strip(),
            phone=booking.buyer.phone.strip(),
            country=booking.buyer.country.strip(),
            language=booking.buyer.language.strip(),
            marketing_consent=booking.buyer.marketing_consent,
        )
        await _insert_guests(created, booking.guests, checked)
    return created


async def _reserve_seats(departure: Departure, seats: int, status: BookingStatus) -> None:
    # Locking the departure row serialises bookings of one departure on PostgreSQL; SQLite
    # already allows one writer at a time.
    await Departure.filter(id=departure.id).select_for_update().first()
    taken = (await seats_taken([departure.id]))[departure.id]
    if taken + seats > departure.capacity:
        raise InputErrors(
            [
                InputError(
                    "guests",
                    ErrorCode.CAPACITY_EXCEEDED,
                    f"Departure {departure.id} has {departure.capacity - taken} seats left of "
                    f"{departure.capacity}; the booking needs {seats}.",
                )
            ]
        )


async def _upsert_customer(viewer: Viewer, booking: BookingInput, now: datetime) -> Customer:
    buyer = booking.buyer
    email_key = check.normalise_email(buyer.email)
    customer = (
        await Customer.filter(organization_id=viewer.organization_id, email_key=email_key)
        .select_for_update()
        .first()
    )
    details: dict[str, Any] = {
        "email": buyer.email.strip(),
        "first_name": buyer.first_name.strip(),
        "last_name": buyer.last_name.strip(),
        "phone": buyer.phone.strip(),
        "country": buyer.country.strip(),
        "language": buyer.language.strip(),
        "marketing_consent": buyer.marketing_consent,
    }
    if customer is None:
        return await Customer.create(
            organization_id=viewer.organization_id,
            email_key=email_key,
            booking_count=1,
            total_spent=booking.total_amount,
            first_booking_at=now,
            last_booking_at=now,
            **details,
        )

    # An optional detail left empty on this booking keeps the value an earlier booking gave.
    # Consent is the latest buyer's choice either way, so that withdrawing it takes effect.
    for optional in ("phone", "country", "language"):
        if not details[optional]:
            details[optional] = getattr(customer, optional)
    await Customer.filter(id=customer.id).update(
        booking_count=customer.booking_count + 1,
        # Added in Python: SQLite stores decimals as text and would add them as floats. The
        # row is locked above on PostgreSQL, and SQLite runs one writer at a time.
        total_spent=customer.total_spent + booking.total_amount,
        last_booking_at=now,
        **details,
    )
    return customer


async def _insert_guests(
    booking: Booking, guests: list[GuestInput], checked: _CheckedBooking
) -> None:
    answers = [
        CustomFieldAnswer(custom_field_id=field_id, booking_id=booking.id, value=value)
        for field_id, value in checked.booking_answers.items()
    ]
    for position, (guest, guest_answers) in enumerate(
        zip(guests, checked.guest_answers, strict=True)
    ):
        created = await Guest.create(
            booking_id=booking.id,
            first_name=guest.first_name.strip(),
            last_name=guest.last_name.strip(),
            email=guest.email.strip(),
            phone=guest.phone.strip(),
            category=guest.category,
            position=position,
        )
        answers.extend(
            CustomFieldAnswer(
                custom_field_id=field_id, booking_id=booking.id, guest_id=created.id, value=value
            )
            for field_id, value in guest_answers.items()
        )
    if answers:
        await CustomFieldAnswer.bulk_create(answers)


async def _writable_booking(viewer: Viewer, booking_id: int) -> Booking:
    """Fetch a booking the viewer may change; one it may not even read is NOT_FOUND."""
    scope = require(viewer, Permission.WRITE_BOOKINGS)
    booking = await visible_bookings(viewer).get_or_none(id=booking_id)
    if booking is None or booking.seller_id != viewer.organization_id:
        raise NotFound(f"Booking {booking_id} was not found.")
    if scope is Scope.OWN and booking.created_by_id != viewer.user_id:
        raise NotFound(f"Booking {booking_id} was not found.")
    return booking


def _already_cancelled(booking: Booking) -> InputErrors:
    return InputErrors(
        [
            InputError(
                "id",
                ErrorCode.ALREADY_CANCELLED,
                f"Booking {booking.reference} is already cancelled.",
            )
        ]
    )


async def _take_off_customer(booking: Booking, customer: Customer) -> None:
    # Subtracted in Python, like the addition when booking, to keep decimals exact on SQLite.
    await Customer.filter(id=customer.id).update(
        booking_count=customer.booking_count - 1,
        total_spent=customer.total_spent - booking.total_amount,
    )


async def cancel_booking(viewer: Viewer, booking_id: int) -> Booking:
    booking = await _writable_booking(viewer, booking_id)
    if booking.status is BookingStatus.CANCELLED:
        raise _already_cancelled(booking)

    now = datetime.now(UTC)
    async with in_transaction():
        # The customer is locked before the booking changes, in the same order as a new booking.
        # The status change also locks the booking's tally rows (migration 0005). A new booking
        # of the same customer on the same trip date would lock them in the other order and
        # deadlock.
        customer = await Customer.filter(id=booking.customer_id).select_for_update().get()
        changed = (
            await Booking.filter(id=booking.id)
            .exclude(status=BookingStatus.CANCELLED)
            .update(status=BookingStatus.CANCELLED, cancelled_at=now)
        )
        # A concurrent cancel already took the customer's counters down; do it only once.
        if changed:
            await _take_off_customer(booking, customer)
    if not changed:
        raise _already_cancelled(booking)

    logger.info("Booking %s cancelled by user %s", booking.id, viewer.user_id)
    await booking.refresh_from_db()
    return booking


async def update_guest(viewer: Viewer, guest_id: int, changes: GuestChanges) -> Guest:
    guest = await Guest.get_or_none(id=guest_id)
    if guest is None:
        raise NotFound(f"Guest {guest_id} was not found.")
    try:
        booking = await _writable_booking(viewer, guest.booking_id)
    except NotFound as error:
        raise NotFound(f"Guest {guest_id} was not found.") from error

    errors: list[InputError] = []
    if changes.first_name is not None:
        check.check_name("firstName", changes.first_name, errors)
    if changes.last_name is not None:
        check.check_name("lastName", changes.last_name, errors)
    if changes.email is not None:
        check.check_email("email", changes.email, errors, required=False)
    if changes.phone is not None:
        check.check_pattern(
            "phone", changes.phone.strip(), check.PHONE_PATTERN, "use digits, spaces and +", errors
        )
    answers: dict[int, str] | None = None
    if changes.answers is not None:
        departure = await Departure.get(id=booking.departure_id).select_related("activity")
        definitions = await _custom_fields(
            departure.activity.organization_id, CustomFieldScope.GUEST
        )
        answers = check.normalise_answers("answers", definitions, changes.answers, errors)
    if errors:
        raise InputErrors(errors)

    async with in_transaction():
        _apply_guest_changes(guest, changes)
        await guest.save()
        if answers is not None:
            await CustomFieldAnswer.filter(guest_id=guest.id).delete()
            await CustomFieldAnswer.bulk_create(
                [
                    CustomFieldAnswer(
                        custom_field_id=field_id,
                        booking_id=guest.booking_id,
                        guest_id=guest.id,
                        value=value,
                    )
                    for field_id, value in answers.items()
                ]
            )

    logger.info("Guest %s updated by user %s", guest.id, viewer.user_id)
    return guest


def _apply_guest_changes(guest: Guest, changes: GuestChanges) -> None:
    if changes.first_name is not None:
        guest.first_name = changes.first_name.strip()
    if changes.last_name is not None:
        guest.last_name = changes.last_name.strip()
    if changes.email is not None:
        guest.email = changes.email.strip()
    if changes.phone is not None:
        guest.phone = changes.phone.strip()
    if changes.category is not None:
        guest.category = changes.category
    if changes.checked_in is not None:
        checked_in = guest.checked_in_at is not None
        if changes.checked_in != checked_in:
            guest.checked_in_at = datetime.now(UTC) if changes.checked_in else None
