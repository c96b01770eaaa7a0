"""Customers: buyers merged by normalised email."""

from datetime import datetime

import strawberry

from models import customers
from schema.common import Money
from schema.relay import Node, to_global_id


@strawberry.type(
    description=(
        "A person who paid for bookings of your organization; buyers with the same email, "
        "ignoring case and spaces, are one customer. Details come from the latest booking."
    )
)
class Customer(Node):
    email: str = strawberry.field(description="Email address from the latest booking.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    phone: str = strawberry.field(description="Phone number, possibly empty.")
    country: str = strawberry.field(description="ISO 3166 alpha-2 country code, possibly empty.")
    language: str = strawberry.field(description="Preferred language tag, possibly empty.")
    marketing_consent: bool = strawberry.field(
        description="True when the latest booking agreed to marketing email."
    )
    booking_count: int = strawberry.field(description="Bookings that are not cancelled.")
    total_spent: Money = strawberry.field(
        description="Sum of the totals of the bookings that are not cancelled."
    )
    first_booking_at: datetime = strawberry.field(description="When the first booking was made.")
    last_booking_at: datetime = strawberry.field(description="When the latest booking was made.")

    @classmethod
    def from_row(cls, row: customers.Customer, currency: str) -> "Customer":
        return cls(
            id=to_global_id("Customer", row.id),
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            phone=row.phone,
            country=row.country,
            language=row.language,
            marketing_consent=row.marketing_consent,
            booking_count=row.booking_count,
            total_spent=Money(amount=row.total_spent, currency=currency),
            first_booking_at=row.first_booking_at,
            last_booking_at=row.last_booking_at,
        )
