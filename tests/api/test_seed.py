"""The demo and benchmark seed, checked against the rows it writes to a real database."""

import re
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections
from tortoise.contrib.test import truncate_all_models

from api.seed import (
    DEMO_PASSWORD,
    SeedError,
    SeedSummary,
    seed_bookings,
    seed_demo,
)
from api.seeding.plans import BOOKING_WINDOW, PARTNER_SHARE
from api.settings import get_settings
from models.bookings import Booking, Buyer, CustomFieldAnswer, Guest
from models.catalog import Activity, CustomField, Departure
from models.commands import validation as check
from models.commands.bookings import (
    REFERENCE_ALPHABET,
    BookingInput,
    BuyerInput,
    GuestInput,
    create_booking,
)
from models.customers import Customer
from models.dates import local_date
from models.enums import (
    BookingChannel,
    BookingStatus,
    CustomFieldScope,
    PartnerConnectionStatus,
    Role,
)
from models.errors import InputError
from models.organizations import Organization, PartnerConnection
from models.passwords import verify_password
from models.users import User, UserRole
from tests.factories import viewer_for
from tests.tallies import assert_tallies_match_recount

ZURICH = ZoneInfo("Europe/Zurich")
REFERENCE = re.compile(rf"^(AA|LT)-[{REFERENCE_ALPHABET}]{{6}}$")
_seeded: dict[str, SeedSummary] = {}


@pytest.fixture
async def demo(database: str) -> SeedSummary:
    """Seed the demo once per database, and again after another test has emptied or changed it.

    The tests that take this fixture only read, so one demo seed serves them all.
    """
    summary = _seeded.get(database)
    seeded = summary is not None and await Booking.all().count() == summary.bookings
    if not seeded or not await Organization.filter(slug="alpine").exists():
        await truncate_all_models()
        summary = await seed_demo()
        _seeded[database] = summary
    assert summary is not None
    return summary


async def organization_ids() -> dict[str, int]:
    return dict(await Organization.all().values_list("slug", "id"))


async def test_demo_creates_organizations(demo):
    organizations = {o.slug: o for o in await Organization.all()}

    assert set(organizations) == {"alpine", "lakeside", "summit"}
    assert organizations["alpine"].name == "Alpine Adventures"
    assert organizations["alpine"].time_zone == "Europe/Zurich"
    assert organizations["alpine"].currency == "CHF"
    assert organizations["lakeside"].name == "Lakeside Tours"
    assert organizations["lakeside"].currency == "CHF"
    assert demo.organizations == 3


async def test_demo_connects_partners(demo):
    ids = await organization_ids()
    connections = {(c.supplier_id, c.partner_id): c.status for c in await PartnerConnection.all()}

    assert connections == {
        (ids["alpine"], ids["lakeside"]): PartnerConnectionStatus.ACTIVE,
        (ids["alpine"], ids["summit"]): PartnerConnectionStatus.REVOKED,
    }


async def test_demo_has_one_user_per_role(demo):
    ids = await organization_ids()
    users = await User.all()
    roles = defaultdict(set)
    for user_id, role in await UserRole.all().values_list("user_id", "role"):
        roles[user_id].add(Role(role))

    for slug, organization_id in ids.items():
        members = {u.email: u for u in users if u.organization_id == organization_id}
        assert set(members) == {f"{role.value.lower()}@{slug}.example" for role in Role}
        for role in Role:
            user = members[f"{role.value.lower()}@{slug}.example"]
            assert roles[user.id] == {role}
            assert user.is_active
    assert demo.users == len(users) == 3 * len(Role)


async def test_demo_password_signs_in(demo):
    admin = await User.get(email="admin@alpine.example")

    assert verify_password(admin.password_hash, DEMO_PASSWORD)
    assert not verify_password(admin.password_hash, "wrong password")


async def test_demo_custom_fields(demo):
    ids = await organization_ids()
    fields = {f.key: f for f in await CustomField.filter(organization_id=ids["alpine"])}

    assert set(fields) == {"hotel_pickup", "heard_about_us", "weight_kg", "dietary_needs"}
    assert fields["weight_kg"].scope is CustomFieldScope.GUEST
    assert fields["weight_kg"].required
    assert fields["weight_kg"].personal_data
    assert fields["dietary_needs"].personal_data
    assert fields["dietary_needs"].options == [
        "none",
        "vegetarian",
        "vegan",
        "gluten-free",
        "halal",
        "kosher",
    ]
    assert fields["hotel_pickup"].scope is CustomFieldScope.BOOKING
    assert not fields["hotel_pickup"].required
    assert not fields["heard_about_us"].required


async def test_demo_timetable(demo):
    ids = await organization_ids()
    activities = {a.id: a for a in await Activity.all()}
    departures = await Departure.all()
    today = datetime.now(UTC).date()

    assert {a.name for a in activities.values()} >= {
        "Tandem paragliding flight",
        "Lake Thun sunset cruise",
        "Old town walking tour",
        "Glacier hike",
    }
    assert all(a.organization_id == ids["alpine"] for a in activities.values())
    assert len(departures) == demo.departures
    for departure in departures:
        assert departure.starts_on == local_date(departure.starts_at, "Europe/Zurich")
        assert departure.ends_at > departure.starts_at
        assert 8 <= departure.capacity <= 40
    assert min(d.starts_on for d in departures) < today - timedelta(days=100)
    assert max(d.starts_on for d in departures) > today + timedelta(days=80)


async def test_demo_local_start_times(demo):
    departures = await Departure.all()

    local_times = {d.starts_at.astimezone(ZURICH).strftime("%H:%M") for d in departures}

    assert local_times == {"08:00", "09:00", "10:00", "11:00", "13:30", "14:00", "17:45"}


async def test_guide_leads_alpine_departures(demo):
    guide = await User.get(email="guide@alpine.example")
    guided = await Departure.filter(guides__id=guide.id).prefetch_related("activity")
    ids = await organization_ids()

    assert len(guided) > demo.departures // 4
    assert all(d.activity.organization_id == ids["alpine"] for d in guided)


async def test_booking_totals(demo):
    assert await Booking.all().count() == demo.bookings == 3000
    assert await Guest.all().count() == demo.guests
    assert await CustomFieldAnswer.all().count() == demo.answers
    assert await Customer.all().count() == demo.customers


async def test_every_booking_has_buyer_and_guests(demo):
    bookings = {booking_id for (booking_id,) in await Booking.all().values_list("id")}
    buyer_bookings = [booking_id for (booking_id,) in await Buyer.all().values_list("booking_id")]
    guest_counts: defaultdict[int, int] = defaultdict(int)
    for (booking_id,) in await Guest.all().values_list("booking_id"):
        guest_counts[booking_id] += 1

    assert sorted(buyer_bookings) == sorted(bookings)
    assert set(guest_counts) == bookings
    assert all(1 <= count <= 5 for count in guest_counts.values())


async def test_customer_counters_match_bookings(demo):
    bookings = await Booking.all()
    buyers = {b.booking_id: b for b in await Buyer.all()}
    by_customer = defaultdict(list)
    for booking in bookings:
        by_customer[booking.customer_id].append(booking)
    customers = await Customer.all()

    assert {c.id for c in customers} == set(by_customer)
    for customer in customers:
        own = by_customer[customer.id]
        counted = [b for b in own if b.status is not BookingStatus.CANCELLED]
        latest = max(own, key=lambda b: (b.created_at, b.id))
        latest_buyer = buyers[latest.id]

        assert customer.booking_count == len(counted), customer.email_key
        assert customer.total_spent == sum((b.total_amount for b in counted), Decimal(0))
        assert customer.first_booking_at == min(b.created_at for b in own)
        assert customer.last_booking_at == max(b.created_at for b in own)
        assert customer.email == latest_buyer.email.strip()
        assert customer.first_name == latest_buyer.first_name
        assert customer.last_name == latest_buyer.last_name
        assert customer.phone == latest_buyer.phone
        assert customer.country == latest_buyer.country
        assert customer.language == latest_buyer.language
        assert customer.marketing_consent == latest_buyer.marketing_consent


async def test_tallies_match_bookings(demo):
    await assert_tallies_match_recount()


async def test_tallies_count_bookings_after_the_seed(demo):
    # given the demo seed, which counts the tallies once at its end on PostgreSQL
    employee = await viewer_for(await User.get(email="employee@alpine.example"))
    departure = await Departure.filter(activity__organization__slug="alpine").first()
    assert departure is not None

    # when a booking is made afterwards
    await Departure.filter(id=departure.id).update(capacity=departure.capacity + 1)
    await create_booking(
        employee,
        BookingInput(
            departure_id=departure.id,
            buyer=BuyerInput("Ada", "Later", "ada.later@example.com"),
            guests=[GuestInput("Ada", "Later", answers=[("weight_kg", "60")])],
            total_amount=Decimal("10.00"),
        ),
    )

    # then the tallies count it too: the seed turned their triggers back on
    await assert_tallies_match_recount()


async def test_customers_merge_by_normalised_email(demo):
    customers = {c.id: c for c in await Customer.all()}
    spellings = defaultdict(set)
    for booking in await Booking.all().prefetch_related("buyer"):
        customer = customers[booking.customer_id]
        assert customer.organization_id == booking.seller_id
        assert customer.email_key == check.normalise_email(booking.buyer.email)
        spellings[customer.id].add(booking.buyer.email)

    assert any(len(emails) > 1 for emails in spellings.values())
    assert any(email != email.strip() for emails in spellings.values() for email in emails)
    assert any(len(emails) == 1 for emails in spellings.values())


async def test_departures_within_capacity(demo):
    seats: defaultdict[int, int] = defaultdict(int)
    rows = await Guest.filter(booking__status__not=BookingStatus.CANCELLED).values_list(
        "booking__departure_id"
    )
    for (departure_id,) in rows:
        seats[departure_id] += 1
    capacities = dict(await Departure.all().values_list("id", "capacity"))

    overbooked = {d: n for d, n in seats.items() if n > capacities[d]}
    assert overbooked == {}
    assert any(n == capacities[d] for d, n in seats.items())


async def test_guest_answers_pass_validation(demo):
    ids = await organization_ids()
    definitions = await CustomField.filter(
        organization_id=ids["alpine"], scope=CustomFieldScope.GUEST
    )
    keys = {d.id: d.key for d in definitions}
    answers: defaultdict[int | None, list[tuple[str, str]]] = defaultdict(list)
    for answer in await CustomFieldAnswer.filter(guest_id__not_isnull=True):
        answers[answer.guest_id].append((keys[answer.custom_field_id], answer.value))

    for (guest_id,) in await Guest.all().values_list("id"):
        errors: list[InputError] = []
        values = check.normalise_answers("answers", definitions, answers[guest_id], errors)
        assert errors == [], guest_id
        assert sorted(values.values()) == sorted(value for _, value in answers[guest_id])


async def test_booking_answers_pass_validation(demo):
    ids = await organization_ids()
    definitions = await CustomField.filter(
        organization_id=ids["alpine"], scope=CustomFieldScope.BOOKING
    )
    keys = {d.id: d.key for d in definitions}
    answers: defaultdict[int, list[tuple[str, str]]] = defaultdict(list)
    for answer in await CustomFieldAnswer.filter(guest_id__isnull=True):
        answers[answer.booking_id].append((keys[answer.custom_field_id], answer.value))

    for booking_id, booking_answers in answers.items():
        errors: list[InputError] = []
        check.normalise_answers("answers", definitions, booking_answers, errors)
        assert errors == [], booking_id
    assert len(answers) > demo.bookings // 4


async def test_partner_bookings(demo):
    ids = await organization_ids()
    lakeside_users = {
        user_id
        for (user_id,) in await User.filter(organization_id=ids["lakeside"]).values_list("id")
    }
    partner_sales = await Booking.filter(seller_id=ids["lakeside"]).prefetch_related(
        "departure__activity"
    )

    share = len(partner_sales) / demo.bookings
    assert PARTNER_SHARE - 0.04 < share < PARTNER_SHARE + 0.04
    for booking in partner_sales:
        assert booking.channel is BookingChannel.PARTNER
        assert booking.departure.activity.organization_id == ids["alpine"]
        assert booking.created_by_id in lakeside_users
        assert booking.currency == "CHF"
    assert not await Booking.filter(seller_id=ids["summit"]).exists()


async def test_alpine_sales_channels(demo):
    ids = await organization_ids()
    staff = dict(await User.filter(organization_id=ids["alpine"]).values_list("id", "email"))
    sellers = {"employee@alpine.example", "agent@alpine.example", "admin@alpine.example"}
    creators = set()

    for booking in await Booking.filter(seller_id=ids["alpine"]):
        assert booking.channel in {BookingChannel.BACK_OFFICE, BookingChannel.ONLINE}
        if booking.channel is BookingChannel.ONLINE:
            assert booking.created_by_id is None
        else:
            assert staff[booking.created_by_id] in sellers
            creators.add(staff[booking.created_by_id])
    assert creators == sellers


async def test_booking_dates(demo):
    now = datetime.now(UTC)
    anchor = datetime.combine(now.date(), time.min, tzinfo=UTC)
    bookings = await Booking.all().prefetch_related("departure")

    for booking in bookings:
        starts_at = booking.departure.starts_at
        assert starts_at - BOOKING_WINDOW <= booking.created_at <= starts_at
        assert booking.created_at <= now
        if booking.status is BookingStatus.CANCELLED:
            assert booking.cancelled_at is not None
            assert booking.created_at <= booking.cancelled_at <= min(starts_at, now)
        else:
            assert booking.cancelled_at is None
        if booking.status is BookingStatus.PENDING:
            assert starts_at >= anchor
    assert {b.status for b in bookings} == set(BookingStatus)


async def test_booking_statuses_mostly_confirmed(demo):
    statuses: defaultdict[BookingStatus, int] = defaultdict(int)
    for (status,) in await Booking.all().values_list("status"):
        statuses[BookingStatus(status)] += 1

    assert statuses[BookingStatus.CONFIRMED] > 0.75 * demo.bookings
    assert statuses[BookingStatus.CANCELLED] > 0.03 * demo.bookings
    assert statuses[BookingStatus.PENDING] > 0


async def test_check_ins_only_on_past_departures(demo):
    now = datetime.now(UTC)
    guests = await Guest.filter(checked_in_at__not_isnull=True).prefetch_related(
        "booking__departure"
    )

    assert len(guests) > demo.guests // 5
    for guest in guests:
        assert guest.booking.status is BookingStatus.CONFIRMED
        assert guest.checked_in_at is not None
        assert guest.checked_in_at <= guest.booking.departure.starts_at < now


async def test_references_are_unique_and_unambiguous(demo):
    references = [reference for (reference,) in await Booking.all().values_list("reference")]

    assert len(set(references)) == len(references)
    assert all(REFERENCE.match(reference) for reference in references)


async def test_amounts_have_cents(demo):
    for amount, currency in await Booking.all().values_list("total_amount", "currency"):
        assert Decimal(amount) == Decimal(amount).quantize(Decimal("0.01"))
        assert Decimal(amount) >= 0
        assert currency == "CHF"


async def test_names_are_international(demo):
    names = [
        f"{first} {last}"
        for first, last in await Buyer.all().values_list("first_name", "last_name")
    ]

    assert any(not name.isascii() and re.search(r"[À-ÿ]", name) for name in names)
    assert any(re.search(r"[\u4e00-\u9fff]", name) for name in names)
    assert any("'" in name for name in names)


async def test_seed_bookings_is_reproducible(db):
    first = await _seed_and_read(rng_seed=11)
    await truncate_all_models()
    second = await _seed_and_read(rng_seed=11)
    await truncate_all_models()
    other = await _seed_and_read(rng_seed=12)

    assert first == second
    assert first["references"] != other["references"]


async def _seed_and_read(rng_seed: int) -> dict[str, list[Any]]:
    await seed_bookings(400, rng_seed=rng_seed, anchor_date=date(2026, 6, 1))
    return {
        "references": await Booking.all().order_by("id").values_list("reference", flat=True),
        "bookings": await Booking.all()
        .order_by("id")
        .values_list("total_amount", "status", "created_at", "cancelled_at"),
        "buyers": await Buyer.all()
        .order_by("booking_id")
        .values_list("first_name", "last_name", "email", "phone"),
        "guests": await Guest.all()
        .order_by("booking_id", "position")
        .values_list("first_name", "last_name", "category", "checked_in_at"),
        "answers": await CustomFieldAnswer.all()
        .order_by("booking_id", "guest_id", "custom_field_id")
        .values_list("value", flat=True),
        "customers": await Customer.all()
        .order_by("email_key")
        .values_list("email_key", "booking_count", "total_spent"),
    }


async def test_seed_rejects_database_with_organizations(db):
    await Organization.create(slug="other", name="Other", time_zone="UTC", currency="EUR")

    with pytest.raises(SeedError, match="already has organizations"):
        await seed_bookings(10)

    assert await Organization.all().count() == 1


async def test_seed_if_empty_skips_database_with_data(db):
    await Organization.create(slug="other", name="Other", time_zone="UTC", currency="EUR")

    summary = await seed_demo(if_empty=True)

    assert summary.skipped
    assert summary.bookings == 0
    assert await Organization.all().count() == 1
    assert not await Booking.exists()


async def test_seed_refuses_production(db, monkeypatch):
    monkeypatch.setenv("TOURDESK_ENV", "production")
    get_settings.cache_clear()
    try:
        with pytest.raises(SeedError, match="production"):
            await seed_demo()
    finally:
        get_settings.cache_clear()

    assert not await Organization.exists()


async def test_booking_after_seed_updates_customer(db):
    await seed_bookings(200, rng_seed=3)
    employee = await User.get(email="employee@alpine.example")
    customer = await Customer.filter(organization__slug="alpine").order_by("id").first()
    assert customer is not None
    departure = await Departure.filter(starts_at__gt=datetime.now(UTC)).order_by("starts_at")
    open_departure = await _departure_with_free_seat(departure)
    answers = [("weight_kg", "70")]

    booking = await create_booking(
        await viewer_for(employee),
        BookingInput(
            departure_id=open_departure.id,
            buyer=BuyerInput(first_name="Ada", last_name="Lovelace", email=customer.email.upper()),
            guests=[GuestInput(first_name="Ada", last_name="Lovelace", answers=answers)],
            total_amount=Decimal("10.00"),
        ),
    )
    updated = await Customer.get(id=customer.id)

    assert booking.id > 200
    assert booking.customer_id == customer.id
    assert updated.booking_count == customer.booking_count + 1
    assert updated.total_spent == customer.total_spent + Decimal("10.00")


async def _departure_with_free_seat(departures: list[Departure]) -> Departure:
    for departure in departures:
        seats_taken = await Guest.filter(
            booking__departure_id=departure.id, booking__status__not=BookingStatus.CANCELLED
        ).count()
        if seats_taken < departure.capacity:
            return departure
    raise AssertionError("every future departure is full")


async def test_postgres_statistics_refreshed(demo, is_postgres):
    if not is_postgres:
        pytest.skip("SQLite keeps no statistics the seed should refresh")

    rows = await connections.get("default").execute_query_dict(
        "SELECT last_analyze FROM pg_stat_user_tables WHERE relname IN ('booking', 'guest')"
    )

    # PostgreSQL's statistics collector reports the ANALYZE of both tables
    assert len(rows) == 2
    assert all(row["last_analyze"] is not None for row in rows), rows
