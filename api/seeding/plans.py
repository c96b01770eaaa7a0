"""Booking plans: every decision about a booking except its guests' names and answers."""

import random
from array import array
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from api.seeding import SeedError, seeded_random
from api.seeding.catalog import (
    FIRST_GUEST_CATEGORIES,
    FIRST_GUEST_WEIGHTS,
    GUEST_COUNT_WEIGHTS,
    GUEST_COUNTS,
    OTHER_GUEST_CATEGORIES,
    OTHER_GUEST_WEIGHTS,
    PRICE_FACTORS,
    ActivityTemplate,
)
from models.commands.bookings import REFERENCE_ALPHABET
from models.enums import BookingChannel, BookingStatus, GuestCategory

PARTNER_SHARE = 0.15
RETURNING_SHARE = 0.25
# Bookings are made at most this long before their departure.
BOOKING_WINDOW = timedelta(days=90)
# Spellings of a buyer's email: 0 as stored, 1 capitalised, 2 upper-case, 3 with spaces around it.
EMAIL_VARIANTS = [0, 1, 2, 3]


@dataclass(slots=True)
class Seller:
    organization_id: int
    slug: str
    currency: str
    reference_prefix: str
    channels: list[BookingChannel]
    channel_weights: list[int]
    # Users who create BACK_OFFICE and PARTNER bookings, with how often each does.
    creator_ids: list[int]
    creator_weights: list[int]


@dataclass(frozen=True, slots=True)
class DepartureSlot:
    """A departure and its position (`index`) in the planner's list of departures."""

    index: int
    id: int
    template: ActivityTemplate
    starts_at: datetime
    # The local trip date, which each booking on the departure carries too.
    starts_on: date


@dataclass(slots=True)
class BookingPlan:
    id: int
    reference: str
    seller: Seller
    departure: DepartureSlot
    person_index: int
    email_variant: int
    gives_phone: bool
    marketing_consent: bool
    status: BookingStatus
    channel: BookingChannel
    created_by_id: int | None
    created_at: datetime
    cancelled_at: datetime | None
    categories: list[GuestCategory]
    total_cents: int
    # Seeds the generator of the guests' names and answers, which only the second pass needs.
    detail_seed: int


class ReferenceScrambler:
    """Turn booking numbers into distinct, random-looking six-character references.

    Each step (multiplying by an odd number, adding, xor with a right shift) is a bijection on
    30-bit numbers, so distinct booking numbers below 2**30 give distinct references and no set of
    used references has to be kept.
    """

    BITS = 30
    ROUNDS = 3

    def __init__(self, rng: random.Random) -> None:
        self._mask = (1 << self.BITS) - 1
        self._rounds = [
            (rng.getrandbits(self.BITS) | 1, rng.getrandbits(self.BITS)) for _ in range(self.ROUNDS)
        ]

    def reference(self, prefix: str, number: int) -> str:
        value = number
        for multiplier, addend in self._rounds:
            value = (value * multiplier + addend) & self._mask
            value ^= value >> 13
        return f"{prefix}-{self._encode(value)}"

    @staticmethod
    def _encode(value: int) -> str:
        base = len(REFERENCE_ALPHABET)
        characters = []
        for _ in range(6):
            value, digit = divmod(value, base)
            characters.append(REFERENCE_ALPHABET[digit])
        return "".join(reversed(characters))


class BookingPlanner:
    """Plan bookings one after another from one seed, keeping every departure within capacity.

    Two planners made with the same arguments plan the same bookings in the same order.
    """

    def __init__(
        self,
        *,
        rng_seed: int,
        anchor: datetime,
        sellers: tuple[Seller, Seller],
        departures: list[DepartureSlot],
        first_booking_id: int,
    ) -> None:
        self._rng = seeded_random("bookings", rng_seed)
        self._references = ReferenceScrambler(seeded_random("references", rng_seed))
        self._anchor = anchor
        self._supplier, self._partner = sellers
        self._departures = departures
        self._seats_left = [departure.template.capacity for departure in departures]
        self._people_seen = {seller.organization_id: 0 for seller in sellers}
        self._next_id = first_booking_id
        self._number = 0

    def plan(self) -> BookingPlan:
        rng = self._rng
        seller = self._partner if rng.random() < PARTNER_SHARE else self._supplier
        categories = self._categories()
        departure = self._departure_with_seats(len(categories))
        if not departure.template.allows_infants:
            categories = [_older_than_infant(category) for category in categories]
        created_at = self._created_at(departure)
        status, cancelled_at = self._status(departure, created_at)
        if status is not BookingStatus.CANCELLED:
            self._seats_left[departure.index] -= len(categories)

        person_index, email_variant = self._person(seller)
        channel = rng.choices(seller.channels, seller.channel_weights)[0]
        created_by_id = None
        if channel is not BookingChannel.ONLINE:
            created_by_id = rng.choices(seller.creator_ids, seller.creator_weights)[0]

        plan = BookingPlan(
            id=self._next_id,
            reference=self._references.reference(seller.reference_prefix, self._number),
            seller=seller,
            departure=departure,
            person_index=person_index,
            email_variant=email_variant,
            gives_phone=rng.random() < 0.7,
            marketing_consent=rng.random() < 0.35,
            status=status,
            channel=channel,
            created_by_id=created_by_id,
            created_at=created_at,
            cancelled_at=cancelled_at,
            categories=categories,
            total_cents=self._total_cents(departure.template, categories),
            detail_seed=rng.getrandbits(64),
        )
        self._next_id += 1
        self._number += 1
        return plan

    def _categories(self) -> list[GuestCategory]:
        rng = self._rng
        count = rng.choices(GUEST_COUNTS, GUEST_COUNT_WEIGHTS)[0]
        first = rng.choices(FIRST_GUEST_CATEGORIES, FIRST_GUEST_WEIGHTS)[0]
        others = rng.choices(OTHER_GUEST_CATEGORIES, OTHER_GUEST_WEIGHTS, k=count - 1)
        return [first, *others]

    def _departure_with_seats(self, seats: int) -> DepartureSlot:
        """Pick a random departure with enough seats left, or the next one that has them."""
        rng = self._rng
        total = len(self._departures)
        for _ in range(20):
            index = rng.randrange(total)
            if self._seats_left[index] >= seats:
                return self._departures[index]
        start = rng.randrange(total)
        for offset in range(total):
            index = (start + offset) % total
            if self._seats_left[index] >= seats:
                return self._departures[index]
        raise SeedError(
            f"No departure has {seats} seats left; the timetable is too small for the bookings "
            "requested. Request fewer bookings."
        )

    def _created_at(self, departure: DepartureSlot) -> datetime:
        earliest = departure.starts_at - BOOKING_WINDOW
        latest = min(departure.starts_at, self._anchor)
        seconds = int((latest - earliest).total_seconds())
        return earliest + timedelta(seconds=self._rng.randint(0, max(seconds, 0)))

    def _status(
        self, departure: DepartureSlot, created_at: datetime
    ) -> tuple[BookingStatus, datetime | None]:
        rng = self._rng
        draw = rng.random()
        if draw < 0.07:
            latest = min(departure.starts_at, self._anchor)
            seconds = int((latest - created_at).total_seconds())
            cancelled_at = created_at + timedelta(seconds=rng.randint(0, max(seconds, 0)))
            return BookingStatus.CANCELLED, cancelled_at
        # Only departures still to come can have bookings waiting for confirmation.
        if draw < 0.17 and departure.starts_at >= self._anchor:
            return BookingStatus.PENDING, None
        return BookingStatus.CONFIRMED, None

    def _person(self, seller: Seller) -> tuple[int, int]:
        """Pick a returning buyer or the next new one, and how they type their email this time."""
        rng = self._rng
        seen = self._people_seen[seller.organization_id]
        if seen and rng.random() < RETURNING_SHARE:
            index = rng.randrange(seen)
            variant = rng.choices(EMAIL_VARIANTS, [70, 15, 8, 7])[0]
            return index, variant
        self._people_seen[seller.organization_id] = seen + 1
        return seen, rng.choices(EMAIL_VARIANTS, [90, 6, 2, 2])[0]

    def _total_cents(self, template: ActivityTemplate, categories: list[GuestCategory]) -> int:
        rng = self._rng
        price = sum((template.adult_price * PRICE_FACTORS[c] for c in categories), Decimal(0))
        cents = int(price * 100)
        if template.extra_share and rng.random() < template.extra_share:
            cents += int(template.extra_price * 100)
        # A promotion code takes 10 % off, rounded to 5 centimes as Swiss prices are.
        if rng.random() < 0.12:
            cents = round(cents * 0.9 / 5) * 5
        return cents


def _older_than_infant(category: GuestCategory) -> GuestCategory:
    return GuestCategory.CHILD if category is GuestCategory.INFANT else category


class CustomerLedger:
    """The counters of every customer, keyed by (seller, normalised email), in compact arrays.

    The first pass over the plans records them, so that the second pass can insert each customer
    with its final values.

    Memory grows with the number of distinct customers (about 80 bytes each plus the email key),
    not with the number of bookings or guests.
    """

    def __init__(self, first_customer_id: int) -> None:
        self.first_id = first_customer_id
        self._ids: dict[tuple[int, str], int] = {}
        self.booking_count = array("q")
        self.spent_cents = array("q")
        self.first_at = array("q")
        self.last_at = array("q")
        self.last_booking_id = array("q")
        # The latest booking's buyer, from which the customer's details are copied.
        self.person_index = array("q")
        self.email_variant = array("b")
        self.gives_phone = array("b")
        self.marketing_consent = array("b")

    def __len__(self) -> int:
        return len(self._ids)

    def customer_id(self, seller_id: int, email_key: str) -> int:
        return self._ids[(seller_id, email_key)]

    def record(self, plan: BookingPlan, email_key: str) -> None:
        key = (plan.seller.organization_id, email_key)
        customer_id = self._ids.get(key)
        if customer_id is None:
            customer_id = self.first_id + len(self._ids)
            self._ids[key] = customer_id
            self._append()
        slot = customer_id - self.first_id

        created = int(plan.created_at.timestamp())
        if plan.status is not BookingStatus.CANCELLED:
            self.booking_count[slot] += 1
            self.spent_cents[slot] += plan.total_cents
        self.first_at[slot] = min(self.first_at[slot], created)
        if (created, plan.id) > (self.last_at[slot], self.last_booking_id[slot]):
            self.last_at[slot] = created
            self.last_booking_id[slot] = plan.id
            self.person_index[slot] = plan.person_index
            self.email_variant[slot] = plan.email_variant
            self.gives_phone[slot] = plan.gives_phone
            self.marketing_consent[slot] = plan.marketing_consent

    def _append(self) -> None:
        for column in (self.booking_count, self.spent_cents, self.last_booking_id):
            column.append(0)
        self.first_at.append(2**62)
        self.last_at.append(-(2**62))
        self.person_index.append(0)
        for flags in (self.email_variant, self.gives_phone, self.marketing_consent):
            flags.append(0)
