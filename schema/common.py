"""Types, inputs and enums that several domains share."""

from datetime import date
from decimal import Decimal
from enum import Enum

import strawberry

from models import organizations
from models.dates import DateRange
from models.enums import BookingChannel, BookingStatus, GuestCategory, Role
from schema.relay import Node, to_global_id

strawberry.enum(BookingStatus, description="Where a booking stands.")
strawberry.enum(BookingChannel, description="How a booking was made.")
strawberry.enum(GuestCategory, description="The fare category of a guest.")
strawberry.enum(Role, description="A back-office role; roles grant permissions.")


@strawberry.enum(description="Sort direction.")
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description="Decimal amount, such as `129.50`.")
    currency: str = strawberry.field(description="ISO 4217 currency code, such as `CHF`.")


@strawberry.input(
    description=(
        "Calendar dates, both ends inclusive. Trip dates are read in the supplier's time "
        "zone and booking dates in yours. Leave an end out to leave it open."
    )
)
class DateRangeInput:
    from_: date | None = strawberry.field(
        default=None, name="from", description="First date in the range."
    )
    to: date | None = strawberry.field(default=None, description="Last date in the range.")


def date_range(value: DateRangeInput | None) -> DateRange:
    if value is None:
        return DateRange()
    return DateRange(start=value.from_, end=value.to)


@strawberry.type(description="An organization: an operator or a reseller.")
class Organization(Node):
    slug: str = strawberry.field(description="Short unique name used in URLs and the CLI.")
    name: str = strawberry.field(description="Display name.")
    time_zone: str = strawberry.field(description="IANA time zone such as `Europe/Zurich`.")
    currency: str = strawberry.field(description="ISO 4217 currency of its bookings.")

    @classmethod
    def from_row(cls, row: organizations.Organization) -> "Organization":
        return cls(
            id=to_global_id("Organization", row.id),
            slug=row.slug,
            name=row.name,
            time_zone=row.time_zone,
            currency=row.currency,
        )
