"""Rows of planned bookings: customers, bookings, buyers, guests and answers."""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from api.seeding import seeded_random
from api.seeding.catalog import DIETARY_OPTIONS, DIETARY_WEIGHTS, HEARD_ABOUT_OPTIONS, HOTELS
from api.seeding.people import (
    CULTURE_WEIGHTS,
    CULTURES,
    Person,
    email_as_entered,
    person_for,
)
from api.seeding.plans import BookingPlan, CustomerLedger, Seller
from models.bookings import Booking, Buyer, CustomFieldAnswer, Guest
from models.commands.validation import normalise_email
from models.customers import Customer
from models.enums import BookingStatus, GuestCategory


@dataclass(slots=True)
class RowBatch:
    customers: list[Customer] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    buyers: list[Buyer] = field(default_factory=list)
    guests: list[Guest] = field(default_factory=list)
    answers: list[CustomFieldAnswer] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CustomFieldIds:
    hotel_pickup: int
    heard_about_us: int
    weight_kg: int
    dietary_needs: int


@dataclass(slots=True)
class IdCounters:
    """The next primary keys of the buyer, guest and answer tables, which the seed picks itself.

    The seed picks ids because bulk_create does not return them (see `layout.next_id`).
    """

    buyer: int
    guest: int
    answer: int


def buyer_of(rng_seed: int, plan: BookingPlan) -> tuple[Person, str]:
    """Return the person who makes a planned booking, and their email as they typed it."""
    person = person_for(rng_seed, plan.seller.slug, plan.person_index)
    return person, email_as_entered(person.email, plan.email_variant)


class RowBuilder:
    """Build the rows of planned bookings, inserting each customer with its first booking."""

    def __init__(
        self,
        *,
        rng_seed: int,
        anchor: datetime,
        ledger: CustomerLedger,
        fields: CustomFieldIds,
        ids: IdCounters,
    ) -> None:
        self._rng_seed = rng_seed
        self._anchor = anchor
        self._ledger = ledger
        self._fields = fields
        self._ids = ids
        self._written = bytearray(len(ledger))

    def add(self, batch: RowBatch, plan: BookingPlan) -> None:
        person, entered_email = buyer_of(self._rng_seed, plan)
        email_key = normalise_email(entered_email)
        customer_id = self._ledger.customer_id(plan.seller.organization_id, email_key)
        if not self._written[customer_id - self._ledger.first_id]:
            self._written[customer_id - self._ledger.first_id] = 1
            batch.customers.append(self._customer(plan.seller, customer_id, email_key))

        batch.bookings.append(_booking(plan, customer_id))
        batch.buyers.append(self._buyer(plan, person, entered_email))
        self._add_guests(batch, plan, person, entered_email)

    def _customer(self, seller: Seller, customer_id: int, email_key: str) -> Customer:
        ledger = self._ledger
        slot = customer_id - ledger.first_id
        person = person_for(self._rng_seed, seller.slug, ledger.person_index[slot])
        entered_email = email_as_entered(person.email, ledger.email_variant[slot])
        return Customer(
            id=customer_id,
            organization_id=seller.organization_id,
            email_key=email_key,
            email=entered_email.strip(),
            first_name=person.first_name,
            last_name=person.last_name,
            phone=person.phone if ledger.gives_phone[slot] else "",
            country=person.country,
            language=person.language,
            marketing_consent=bool(ledger.marketing_consent[slot]),
            booking_count=ledger.booking_count[slot],
            total_spent=Decimal(ledger.spent_cents[slot]).scaleb(-2),
            first_booking_at=datetime.fromtimestamp(ledger.first_at[slot], UTC),
            last_booking_at=datetime.fromtimestamp(ledger.last_at[slot], UTC),
        )

    def _buyer(self, plan: BookingPlan, person: Person, entered_email: str) -> Buyer:
        buyer = Buyer(
            id=self._ids.buyer,
            booking_id=plan.id,
            first_name=person.first_name,
            last_name=person.last_name,
            email=entered_email,
            phone=person.phone if plan.gives_phone else "",
            country=person.country,
            language=person.language,
            marketing_consent=plan.marketing_consent,
        )
        self._ids.buyer += 1
        return buyer

    def _add_guests(
        self, batch: RowBatch, plan: BookingPlan, buyer: Person, entered_email: str
    ) -> None:
        rng = seeded_random("guests", plan.detail_seed)
        buyer_attends = rng.random() < 0.85
        departed = plan.departure.starts_at < self._anchor
        checked_in = plan.status is BookingStatus.CONFIRMED and departed

        for position, category in enumerate(plan.categories):
            guest_id = self._ids.guest
            self._ids.guest += 1
            if position == 0 and buyer_attends:
                first_name, last_name = buyer.first_name, buyer.last_name
                email = entered_email.strip() if rng.random() < 0.5 else ""
            else:
                first_name, last_name = _companion_name(rng, buyer)
                email = ""
            batch.guests.append(
                Guest(
                    id=guest_id,
                    booking_id=plan.id,
                    first_name=first_name,
                    last_name=last_name,
                    email=email,
                    phone="",
                    category=category,
                    checked_in_at=_check_in_time(rng, plan) if checked_in else None,
                    position=position,
                )
            )
            self._add_guest_answers(batch, rng, plan.id, guest_id, category)

        self._add_booking_answers(batch, rng, plan.id)

    def _add_guest_answers(
        self,
        batch: RowBatch,
        rng: random.Random,
        booking_id: int,
        guest_id: int,
        category: GuestCategory,
    ) -> None:
        self._answer(batch, booking_id, guest_id, self._fields.weight_kg, _weight(rng, category))
        if rng.random() < 0.65:
            dietary = rng.choices(DIETARY_OPTIONS, DIETARY_WEIGHTS)[0]
            self._answer(batch, booking_id, guest_id, self._fields.dietary_needs, dietary)

    def _add_booking_answers(self, batch: RowBatch, rng: random.Random, booking_id: int) -> None:
        if rng.random() < 0.35:
            self._answer(batch, booking_id, None, self._fields.hotel_pickup, rng.choice(HOTELS))
        if rng.random() < 0.45:
            source = rng.choice(HEARD_ABOUT_OPTIONS)
            self._answer(batch, booking_id, None, self._fields.heard_about_us, source)

    def _answer(
        self, batch: RowBatch, booking_id: int, guest_id: int | None, field_id: int, value: str
    ) -> None:
        batch.answers.append(
            CustomFieldAnswer(
                id=self._ids.answer,
                custom_field_id=field_id,
                booking_id=booking_id,
                guest_id=guest_id,
                value=value,
            )
        )
        self._ids.answer += 1


def _booking(plan: BookingPlan, customer_id: int) -> Booking:
    return Booking(
        id=plan.id,
        reference=plan.reference,
        seller_id=plan.seller.organization_id,
        departure_id=plan.departure.id,
        customer_id=customer_id,
        created_by_id=plan.created_by_id,
        status=plan.status,
        channel=plan.channel,
        total_amount=Decimal(plan.total_cents).scaleb(-2),
        currency=plan.seller.currency,
        created_at=plan.created_at,
        cancelled_at=plan.cancelled_at,
        # Written as the trigger would set it, so that SQLite's trigger needs no second write.
        trip_starts_on=plan.departure.starts_on,
    )


def _companion_name(rng: random.Random, buyer: Person) -> tuple[str, str]:
    """Name a guest travelling with the buyer: often family, sometimes a friend from elsewhere."""
    culture = buyer.culture if rng.random() < 0.8 else rng.choices(CULTURES, CULTURE_WEIGHTS)[0]
    first_name = rng.choice(culture.first_names)[0]
    if culture is buyer.culture and rng.random() < 0.6:
        return first_name, buyer.last_name
    return first_name, rng.choice(culture.last_names)[0]


def _weight(rng: random.Random, category: GuestCategory) -> str:
    """Draw a body weight in kg, written as the API normalises numbers ("72" or "72.5")."""
    if category is GuestCategory.INFANT:
        kilograms = rng.uniform(5, 15)
    elif category is GuestCategory.CHILD:
        kilograms = rng.uniform(18, 50)
    else:
        kilograms = min(max(rng.gauss(74, 13), 45), 130)
    halves = round(kilograms * 2)
    return str(halves // 2) if halves % 2 == 0 else f"{halves // 2}.5"


def _check_in_time(rng: random.Random, plan: BookingPlan) -> datetime | None:
    # Most guests of past departures turned up and were checked in shortly before the start.
    if rng.random() >= 0.92:
        return None
    return plan.departure.starts_at - timedelta(minutes=rng.randint(5, 40))
