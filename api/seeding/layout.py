"""Writing the fixed part of the seed: organizations, users, custom fields and the timetable."""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from api.seeding import seeded_random
from api.seeding.catalog import (
    ACTIVITIES,
    ALPINE,
    DIETARY_OPTIONS,
    GUEST_COUNT_WEIGHTS,
    GUEST_COUNTS,
    HEARD_ABOUT_OPTIONS,
    LAKESIDE,
    ORGANIZATIONS,
    ActivityTemplate,
    OrganizationSpec,
)
from api.seeding.plans import DepartureSlot, Seller
from api.seeding.rows import CustomFieldIds
from models.bookings import Booking, Buyer, CustomFieldAnswer, Guest
from models.catalog import Activity, CustomField, Departure
from models.customers import Customer
from models.dates import local_date
from models.enums import (
    BookingChannel,
    CustomFieldScope,
    CustomFieldType,
    PartnerConnectionStatus,
    Role,
)
from models.organizations import Organization, PartnerConnection
from models.passwords import hash_password
from models.users import User, UserRole

# The password of every demo user. `tourdesk seed --demo` prints it, so it must never reach a
# production database.
DEMO_PASSWORD = "tourdesk-demo"
# Departures run from this many days before the anchor date to this many days after it. The
# booking window must cover FUTURE_DAYS, so that every departure can be booked before the anchor.
PAST_DAYS = 120
FUTURE_DAYS = 90
# The timetable is repeated until bookings fill at most about this share of the seats.
TARGET_OCCUPANCY = 0.55
INSERT_BATCH_SIZE = 10_000
# Tables whose ids the seed picks itself instead of leaving them to the database.
PRESET_ID_MODELS: tuple[type[Model], ...] = (
    Activity,
    Departure,
    Customer,
    Booking,
    Buyer,
    Guest,
    CustomFieldAnswer,
)


@dataclass(frozen=True, slots=True)
class Layout:
    """The sellers, departures and custom fields that bookings are planned against."""

    sellers: tuple[Seller, Seller]
    departures: list[DepartureSlot]
    fields: CustomFieldIds
    organizations: int
    users: int
    activities: int


async def next_id(model: type[Model]) -> int:
    """Return one more than the largest id of the model's table, or 1 when it is empty.

    bulk_create in Tortoise 1.1.9 leaves the ids of the objects it inserts unset, on SQLite and on
    PostgreSQL alike, so the seed picks the ids itself: a child row needs its parent's id.
    """
    last = await model.all().order_by("-id").only("id").first()
    return 1 if last is None else int(last.pk) + 1


async def reset_postgres_sequences(connection: BaseDBAsyncClient) -> None:
    """Move PostgreSQL's id sequences past the ids the seed picked, so later inserts do not clash.

    SQLite needs nothing: it moves an AUTOINCREMENT counter past any id inserted explicitly.
    """
    if connection.capabilities.dialect != "postgres":
        return
    for model in PRESET_ID_MODELS:
        # Table names come from the model classes, never from input.
        table = model._meta.db_table
        await connection.execute_query(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), MAX(id)) "  # noqa: S608
            f'FROM "{table}" HAVING MAX(id) IS NOT NULL'
        )


async def analyze_postgres(connection: BaseDBAsyncClient) -> None:
    """Refresh PostgreSQL's planner statistics after a seed.

    Until autovacuum reaches the new rows, the planner takes the tables for nearly empty and
    picks plans that read every booking: a guests page took 607 ms instead of 123 ms. SQLite
    keeps no statistics until ANALYZE runs, and its plans are chosen for that case, so it is left
    alone.
    """
    if connection.capabilities.dialect == "postgres":
        await connection.execute_script("ANALYZE")


async def write_layout(
    connection: BaseDBAsyncClient, booking_count: int, rng_seed: int, anchor: datetime
) -> Layout:
    """Create the organizations, their users, Alpine's custom fields, activities and departures."""
    organizations = {spec.slug: await _create_organization(spec) for spec in ORGANIZATIONS}
    alpine, lakeside, summit = (organizations[spec.slug] for spec in ORGANIZATIONS)
    await PartnerConnection.create(
        supplier_id=alpine.id, partner_id=lakeside.id, status=PartnerConnectionStatus.ACTIVE
    )
    await PartnerConnection.create(
        supplier_id=alpine.id, partner_id=summit.id, status=PartnerConnectionStatus.REVOKED
    )

    password_hash = hash_password(DEMO_PASSWORD)
    staff = {
        spec.slug: await _create_staff(spec, organizations[spec.slug], password_hash)
        for spec in ORGANIZATIONS
    }
    fields = await _create_custom_fields(alpine)
    departures, activities = await _create_timetable(connection, alpine, booking_count, anchor)
    await _assign_guide(connection, departures, staff["alpine"][Role.GUIDE], rng_seed)

    return Layout(
        sellers=(
            _seller(ALPINE, alpine, staff["alpine"], partner=False),
            _seller(LAKESIDE, lakeside, staff["lakeside"], partner=True),
        ),
        departures=departures,
        fields=fields,
        organizations=len(organizations),
        users=sum(len(users) for users in staff.values()),
        activities=activities,
    )


async def _create_organization(spec: OrganizationSpec) -> Organization:
    return await Organization.create(
        slug=spec.slug, name=spec.name, time_zone=spec.time_zone, currency=spec.currency
    )


async def _create_staff(
    spec: OrganizationSpec, organization: Organization, password_hash: str
) -> dict[Role, int]:
    """Create one user per role, signing in as `<role>@<slug>.example`."""
    user_ids: dict[Role, int] = {}
    for role, (first_name, last_name) in spec.staff.items():
        user = await User.create(
            organization_id=organization.id,
            email=f"{role.value.lower()}@{spec.slug}.example",
            first_name=first_name,
            last_name=last_name,
            password_hash=password_hash,
        )
        user_ids[role] = user.id
    await UserRole.bulk_create(
        [UserRole(user_id=user_id, role=role) for role, user_id in user_ids.items()]
    )
    return user_ids


def _seller(
    spec: OrganizationSpec, organization: Organization, staff: dict[Role, int], *, partner: bool
) -> Seller:
    if partner:
        channels, channel_weights = [BookingChannel.PARTNER], [1]
    else:
        channels, channel_weights = [BookingChannel.BACK_OFFICE, BookingChannel.ONLINE], [55, 45]
    return Seller(
        organization_id=organization.id,
        slug=spec.slug,
        currency=spec.currency,
        reference_prefix=spec.reference_prefix,
        channels=channels,
        channel_weights=channel_weights,
        creator_ids=[staff[Role.EMPLOYEE], staff[Role.AGENT], staff[Role.ADMIN]],
        creator_weights=[60, 25, 15] if not partner else [50, 35, 15],
    )


async def _create_custom_fields(organization: Organization) -> CustomFieldIds:
    async def create(
        scope: CustomFieldScope, key: str, label: str, kind: CustomFieldType, **extra: Any
    ) -> int:
        created = await CustomField.create(
            organization_id=organization.id, scope=scope, key=key, label=label, type=kind, **extra
        )
        return created.id

    booking, guest = CustomFieldScope.BOOKING, CustomFieldScope.GUEST
    return CustomFieldIds(
        hotel_pickup=await create(booking, "hotel_pickup", "Hotel pickup", CustomFieldType.TEXT),
        heard_about_us=await create(
            booking,
            "heard_about_us",
            "How did you hear about us?",
            CustomFieldType.SELECT,
            options=HEARD_ABOUT_OPTIONS,
            position=1,
        ),
        weight_kg=await create(
            guest,
            "weight_kg",
            "Weight in kg",
            CustomFieldType.NUMBER,
            required=True,
            personal_data=True,
        ),
        dietary_needs=await create(
            guest,
            "dietary_needs",
            "Dietary needs",
            CustomFieldType.SELECT,
            options=DIETARY_OPTIONS,
            personal_data=True,
            position=1,
        ),
    )


def _timetable_copies(count: int, seats_per_copy: int) -> int:
    """Return how often to repeat the timetable so that `count` bookings fill it to the target."""
    mean_guests = sum(n * w for n, w in zip(GUEST_COUNTS, GUEST_COUNT_WEIGHTS, strict=True)) / sum(
        GUEST_COUNT_WEIGHTS
    )
    return max(1, math.ceil(count * mean_guests / (TARGET_OCCUPANCY * seats_per_copy)))


async def _create_timetable(
    connection: BaseDBAsyncClient, organization: Organization, count: int, anchor: datetime
) -> tuple[list[DepartureSlot], int]:
    """Create the activities and their departures; return the departures and the activity count.

    The demo has one activity per template. Larger seeds repeat the templates as "Glacier hike
    #2" and so on, because the date range and the capacities stay fixed.
    """
    days = [anchor.date() + timedelta(days=offset) for offset in range(-PAST_DAYS, FUTURE_DAYS)]
    zone = ZoneInfo(organization.time_zone)
    starts = {template.name: _local_starts(template, days, zone) for template in ACTIVITIES}
    seats_per_copy = sum(len(starts[t.name]) * t.capacity for t in ACTIVITIES)
    copies = _timetable_copies(count, seats_per_copy)

    next_activity_id = await next_id(Activity)
    next_departure_id = await next_id(Departure)
    activities: list[Activity] = []
    departures: list[Departure] = []
    slots: list[DepartureSlot] = []
    for copy in range(copies):
        for template in ACTIVITIES:
            name = template.name if copy == 0 else f"{template.name} #{copy + 1}"
            activities.append(
                Activity(
                    id=next_activity_id,
                    organization_id=organization.id,
                    name=name,
                    description=template.description,
                )
            )
            for starts_at in starts[template.name]:
                starts_on = local_date(starts_at, organization.time_zone)
                departures.append(
                    Departure(
                        id=next_departure_id,
                        activity_id=next_activity_id,
                        starts_at=starts_at,
                        ends_at=starts_at + template.duration,
                        starts_on=starts_on,
                        capacity=template.capacity,
                    )
                )
                slots.append(
                    DepartureSlot(len(slots), next_departure_id, template, starts_at, starts_on)
                )
                next_departure_id += 1
            next_activity_id += 1

    await Activity.bulk_create(activities, batch_size=INSERT_BATCH_SIZE, using_db=connection)
    await Departure.bulk_create(departures, batch_size=INSERT_BATCH_SIZE, using_db=connection)
    return slots, len(activities)


def _local_starts(template: ActivityTemplate, days: list[date], zone: ZoneInfo) -> list[datetime]:
    """Return the UTC start instants of a template's departures on the given local dates."""
    return [
        datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
        for day in days
        if day.weekday() in template.weekdays
        for start in template.start_times
    ]


async def _assign_guide(
    connection: BaseDBAsyncClient, departures: list[DepartureSlot], guide_id: int, rng_seed: int
) -> None:
    """Make the GUIDE user the guide of a share of each activity's departures."""
    rng = seeded_random("guides", rng_seed)
    rows = [
        [departure.id, guide_id]
        for departure in departures
        if rng.random() < departure.template.guide_share
    ]
    if not rows:
        return
    # The through table has no model, so bulk_create cannot fill it. The two placeholder styles
    # are constants.
    placeholders = "$1, $2" if connection.capabilities.dialect == "postgres" else "?, ?"
    await connection.execute_many(
        f'INSERT INTO "departure_guide" ("departure_id", "user_id") VALUES ({placeholders})',  # noqa: S608
        rows,
    )
