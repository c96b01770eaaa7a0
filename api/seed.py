"""Demo and benchmark data: three organizations, their users, a timetable and bookings.

Every value is drawn from generators seeded with `rng_seed`, and every date is placed relative to
an anchor date, by default today's date in UTC. So one seed and one anchor date always give the same
rows: the same references, names, amounts and dates.

Bookings are planned twice from the same seed. The first pass only adds up each customer's
counters, the second writes the rows in batches, so every customer row is inserted once with its
final values and memory does not grow with the number of bookings or guests.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from api.seeding import SeedError
from api.seeding.layout import (
    DEMO_PASSWORD,
    Layout,
    analyze_postgres,
    next_id,
    reset_postgres_sequences,
    write_layout,
)
from api.seeding.plans import BookingPlanner, CustomerLedger
from api.seeding.rows import IdCounters, RowBatch, RowBuilder, buyer_of
from api.settings import Settings, get_settings
from models.bookings import Booking, Buyer, CustomFieldAnswer, Guest
from models.commands.bookings import REFERENCE_ALPHABET
from models.commands.validation import normalise_email
from models.customers import Customer
from models.organizations import Organization
from models.tallies import pause_tallies_for_bulk_insert, recount_tallies

__all__ = [
    "DEMO_PASSWORD",
    "SeedError",
    "SeedSummary",
    "check_seed_allowed",
    "seed_bookings",
    "seed_demo",
]

logger = logging.getLogger(__name__)

DEMO_BOOKINGS = 3000
DEFAULT_RNG_SEED = 7
# Bookings written per batch. With their customers, buyers, guests and answers that is about 20,000
# rows.
BATCH_SIZE = 2000
# References have six characters from REFERENCE_ALPHABET, so this many bookings at most.
MAX_BOOKINGS = len(REFERENCE_ALPHABET) ** 6

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    """Rows the seed wrote; all zero with `skipped` set when the database already had data."""

    organizations: int = 0
    users: int = 0
    activities: int = 0
    departures: int = 0
    customers: int = 0
    bookings: int = 0
    guests: int = 0
    answers: int = 0
    skipped: bool = False


async def seed_demo(
    *,
    rng_seed: int = DEFAULT_RNG_SEED,
    anchor_date: date | None = None,
    if_empty: bool = False,
) -> SeedSummary:
    """Seed the demo: Alpine, its partners, one user per role and 3,000 bookings.

    Every demo user signs in with the password DEMO_PASSWORD. Raises SeedError in production
    and when the database already has organizations, unless `if_empty` makes that a no-op.
    """
    return await seed_bookings(
        DEMO_BOOKINGS, rng_seed=rng_seed, anchor_date=anchor_date, if_empty=if_empty
    )


async def seed_bookings(
    count: int,
    *,
    rng_seed: int = DEFAULT_RNG_SEED,
    anchor_date: date | None = None,
    if_empty: bool = False,
    progress: ProgressCallback | None = None,
) -> SeedSummary:
    """Seed the demo layout with `count` bookings, repeating the timetable to make room for them.

    The same `count`, `rng_seed` and `anchor_date` always give the same rows. `anchor_date`
    defaults to today's date in UTC, and no booking is created after its midnight (UTC).
    `progress` is called with (bookings written, `count`) after each batch. Everything is written
    in one transaction, so a failed seed leaves the database as it was.
    """
    _check_count(count)
    check_seed_allowed()
    anchor = datetime.combine(anchor_date or datetime.now(UTC).date(), time.min, tzinfo=UTC)

    async with in_transaction() as connection:
        if await Organization.exists():
            if if_empty:
                logger.info("Seed skipped because the database already has organizations")
                return SeedSummary(skipped=True)
            raise SeedError(
                "The database already has organizations; seed an empty database, or pass "
                "if_empty (--if-empty on the command line) to skip seeding when there is data."
            )
        # Counted once at the end, because the seed inserts one row per statement.
        await pause_tallies_for_bulk_insert(connection)
        summary = await _write_everything(connection, count, rng_seed, anchor, progress)
        await recount_tallies(connection)
        await reset_postgres_sequences(connection)
    # Outside the transaction, so the statistics count the committed rows.
    await analyze_postgres(connections.get("default"))

    logger.info(
        "Seeded %s bookings with %s guests for %s customers on %s departures",
        summary.bookings,
        summary.guests,
        summary.customers,
        summary.departures,
    )
    return summary


def _check_count(count: int) -> None:
    if not 0 <= count < MAX_BOOKINGS:
        raise SeedError(f"Cannot seed {count} bookings; request from 0 to {MAX_BOOKINGS - 1}.")


def check_seed_allowed(settings: Settings | None = None) -> None:
    """Raise SeedError in production, because the seed creates users with a known password."""
    if (settings or get_settings()).is_production:
        raise SeedError(
            "TOURDESK_ENV is production, and the seed creates users with the publicly known "
            f"password {DEMO_PASSWORD!r}; seed only development and test databases."
        )


async def _write_everything(
    connection: BaseDBAsyncClient,
    count: int,
    rng_seed: int,
    anchor: datetime,
    progress: ProgressCallback | None,
) -> SeedSummary:
    layout = await write_layout(connection, count, rng_seed, anchor)
    first_booking_id = await next_id(Booking)

    ledger = CustomerLedger(await next_id(Customer))
    planner = _planner(layout, rng_seed, anchor, first_booking_id)
    for _ in range(count):
        plan = planner.plan()
        _, entered_email = buyer_of(rng_seed, plan)
        ledger.record(plan, normalise_email(entered_email))

    # A new planner with the same arguments plans the same bookings again.
    planner = _planner(layout, rng_seed, anchor, first_booking_id)
    ids = IdCounters(
        buyer=await next_id(Buyer),
        guest=await next_id(Guest),
        answer=await next_id(CustomFieldAnswer),
    )
    builder = RowBuilder(
        rng_seed=rng_seed, anchor=anchor, ledger=ledger, fields=layout.fields, ids=ids
    )
    guests, answers = await _write_bookings(connection, planner, builder, count, progress)

    return SeedSummary(
        organizations=layout.organizations,
        users=layout.users,
        activities=layout.activities,
        departures=len(layout.departures),
        customers=len(ledger),
        bookings=count,
        guests=guests,
        answers=answers,
    )


def _planner(
    layout: Layout, rng_seed: int, anchor: datetime, first_booking_id: int
) -> BookingPlanner:
    return BookingPlanner(
        rng_seed=rng_seed,
        anchor=anchor,
        sellers=layout.sellers,
        departures=layout.departures,
        first_booking_id=first_booking_id,
    )


async def _write_bookings(
    connection: BaseDBAsyncClient,
    planner: BookingPlanner,
    builder: RowBuilder,
    count: int,
    progress: ProgressCallback | None,
) -> tuple[int, int]:
    """Write `count` planned bookings in batches; return the numbers of guests and answers."""
    guests = answers = written = 0
    for batch_size in _batch_sizes(count):
        batch = RowBatch()
        for _ in range(batch_size):
            builder.add(batch, planner.plan())
        await _insert(connection, batch)

        guests += len(batch.guests)
        answers += len(batch.answers)
        written += batch_size
        if progress is not None:
            progress(written, count)
    return guests, answers


def _batch_sizes(count: int) -> Iterator[int]:
    full, rest = divmod(count, BATCH_SIZE)
    yield from [BATCH_SIZE] * full
    if rest:
        yield rest


async def _insert(connection: BaseDBAsyncClient, batch: RowBatch) -> None:
    # Parents before children, because the foreign keys are checked on every insert.
    await Customer.bulk_create(batch.customers, using_db=connection)
    await Booking.bulk_create(batch.bookings, using_db=connection)
    await Buyer.bulk_create(batch.buyers, using_db=connection)
    await Guest.bulk_create(batch.guests, using_db=connection)
    await CustomFieldAnswer.bulk_create(batch.answers, using_db=connection)
