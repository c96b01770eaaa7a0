"""Builders of organizations, users, departures and bookings for tests."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from itertools import count
from typing import Any

from models.access import Viewer
from models.bookings import Booking, Buyer, CustomFieldAnswer, Guest
from models.catalog import Activity, CustomField, Departure
from models.commands.auth import viewer_from_user
from models.customers import Customer
from models.dates import local_date
from models.enums import (
    BookingChannel,
    BookingStatus,
    CustomFieldScope,
    CustomFieldType,
    GuestCategory,
    PartnerConnectionStatus,
    Role,
)
from models.organizations import Organization, PartnerConnection
from models.passwords import hash_password
from models.users import User, UserRole

PASSWORD = "correct horse battery"
_references = count(1)


@cache
def password_hash() -> str:
    # argon2 is slow on purpose; hash once per run.
    return hash_password(PASSWORD)


@dataclass
class World:
    """Alpine (supplier), Lakeside (ACTIVE partner), Summit (REVOKED partner), one user per role."""

    alpine: Organization
    lakeside: Organization
    summit: Organization
    users: dict[str, dict[Role, User]]
    activity: Activity
    departure: Departure
    other_departure: Departure
    fields: dict[str, CustomField] = field(default_factory=dict)

    def user(self, organization: str, role: Role) -> User:
        return self.users[organization][role]


async def create_organization(slug: str, time_zone: str = "Europe/Zurich") -> Organization:
    return await Organization.create(
        slug=slug, name=slug.title(), time_zone=time_zone, currency="CHF"
    )


async def create_user(organization: Organization, *roles: Role, email: str = "") -> User:
    role_names = "-".join(role.value.lower() for role in roles) or "norole"
    user = await User.create(
        organization_id=organization.id,
        email=email or f"{role_names}@{organization.slug}.example",
        first_name=role_names.title(),
        last_name=organization.name,
        password_hash=password_hash(),
    )
    for role in roles:
        await UserRole.create(user_id=user.id, role=role)
    return user


async def create_departure(
    activity: Activity, starts_at: datetime, *, capacity: int = 20, time_zone: str
) -> Departure:
    return await Departure.create(
        activity_id=activity.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        starts_on=local_date(starts_at, time_zone),
        capacity=capacity,
    )


async def build_world() -> World:
    alpine = await create_organization("alpine")
    lakeside = await create_organization("lakeside")
    summit = await create_organization("summit")
    await PartnerConnection.create(
        supplier_id=alpine.id, partner_id=lakeside.id, status=PartnerConnectionStatus.ACTIVE
    )
    await PartnerConnection.create(
        supplier_id=alpine.id, partner_id=summit.id, status=PartnerConnectionStatus.REVOKED
    )

    users: dict[str, dict[Role, User]] = {}
    for organization in (alpine, lakeside, summit):
        users[organization.slug] = {role: await create_user(organization, role) for role in Role}

    activity = await Activity.create(organization_id=alpine.id, name="Tandem paragliding flight")
    departure = await create_departure(
        activity, datetime(2026, 7, 14, 7, 0, tzinfo=UTC), capacity=12, time_zone="Europe/Zurich"
    )
    other = await create_departure(
        activity, datetime(2026, 7, 15, 7, 0, tzinfo=UTC), capacity=12, time_zone="Europe/Zurich"
    )
    await departure.guides.add(users["alpine"][Role.GUIDE])

    fields = {
        "hotel_pickup": await CustomField.create(
            organization_id=alpine.id,
            scope=CustomFieldScope.BOOKING,
            key="hotel_pickup",
            label="Hotel pickup",
            type=CustomFieldType.TEXT,
        ),
        "weight_kg": await CustomField.create(
            organization_id=alpine.id,
            scope=CustomFieldScope.GUEST,
            key="weight_kg",
            label="Weight in kg",
            type=CustomFieldType.NUMBER,
            required=True,
            personal_data=True,
            position=1,
        ),
        "dietary_needs": await CustomField.create(
            organization_id=alpine.id,
            scope=CustomFieldScope.GUEST,
            key="dietary_needs",
            label="Dietary needs",
            type=CustomFieldType.SELECT,
            options=["none", "vegetarian", "vegan"],
            position=2,
        ),
    }
    return World(alpine, lakeside, summit, users, activity, departure, other, fields)


async def add_booking(
    *,
    seller: Organization,
    departure: Departure,
    created_by: User | None = None,
    buyer_email: str = "buyer@example.com",
    buyer_name: tuple[str, str] = ("Zoë", "Müller"),
    guests: list[tuple[str, str]] | None = None,
    created_at: datetime | None = None,
    status: BookingStatus = BookingStatus.CONFIRMED,
    total: Decimal = Decimal("100.00"),
    answers: dict[CustomField, str] | None = None,
) -> Booking:
    """Write a booking directly, with a given creation time, keeping the customer consistent."""
    created_at = created_at or datetime.now(UTC)
    customer = await _customer_for(seller, buyer_email, buyer_name, created_at, status, total)
    booking = await Booking.create(
        reference=f"T-{next(_references):06d}",
        seller_id=seller.id,
        departure_id=departure.id,
        customer_id=customer.id,
        created_by_id=created_by.id if created_by else None,
        status=status,
        channel=BookingChannel.BACK_OFFICE,
        total_amount=total,
        currency=seller.currency,
        created_at=created_at,
    )
    await Buyer.create(
        booking_id=booking.id,
        first_name=buyer_name[0],
        last_name=buyer_name[1],
        email=buyer_email,
    )
    for position, (first_name, last_name) in enumerate(guests or [buyer_name]):
        guest = await Guest.create(
            booking_id=booking.id,
            first_name=first_name,
            last_name=last_name,
            category=GuestCategory.ADULT,
            position=position,
        )
        for custom_field, value in (answers or {}).items():
            guest_id = guest.id if custom_field.scope is CustomFieldScope.GUEST else None
            if guest_id is None and position > 0:
                continue
            await CustomFieldAnswer.create(
                custom_field_id=custom_field.id,
                booking_id=booking.id,
                guest_id=guest_id,
                value=value,
            )
    return booking


async def _customer_for(
    seller: Organization,
    email: str,
    name: tuple[str, str],
    created_at: datetime,
    status: BookingStatus,
    total: Decimal,
) -> Customer:
    counted = status is not BookingStatus.CANCELLED
    customer = await Customer.get_or_none(organization_id=seller.id, email_key=email.lower())
    if customer is None:
        return await Customer.create(
            organization_id=seller.id,
            email_key=email.strip().lower(),
            email=email,
            first_name=name[0],
            last_name=name[1],
            booking_count=1 if counted else 0,
            total_spent=total if counted else Decimal(0),
            first_booking_at=created_at,
            last_booking_at=created_at,
        )
    if counted:
        customer.booking_count += 1
        customer.total_spent += total
    customer.first_booking_at = min(customer.first_booking_at, created_at)
    customer.last_booking_at = max(customer.last_booking_at, created_at)
    await customer.save()
    return customer


async def viewer_for(user: User) -> Viewer:
    fetched = await User.get(id=user.id).select_related("organization")
    return await viewer_from_user(fetched)


def nodes(data: dict[str, Any], field_name: str) -> list[dict[str, Any]]:
    return list(data[field_name]["nodes"])
