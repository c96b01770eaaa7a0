"""The `customers` list."""

from enum import Enum
from typing import Annotated

import strawberry

from models.enums import BookingStatus
from models.queries.customers import CustomerFilter, CustomerSort, list_customers
from schema.common import DateRangeInput, SortDirection, date_range
from schema.context import Info, viewer_of
from schema.customers.types import Customer
from schema.relay import AFTER, BEFORE, FIRST, LAST, Connection, build_connection, page_request


@strawberry.enum(description="What to sort customers by.")
class CustomerOrderField(Enum):
    LAST_BOOKING_AT = CustomerSort.LAST_BOOKING_AT.value
    FIRST_BOOKING_AT = CustomerSort.FIRST_BOOKING_AT.value
    LAST_NAME = CustomerSort.LAST_NAME.value
    BOOKING_COUNT = CustomerSort.BOOKING_COUNT.value


@strawberry.input(description="Sort order of a customers list; ties are broken by ID.")
class CustomerOrder:
    field: CustomerOrderField = strawberry.field(
        default=CustomerOrderField.LAST_BOOKING_AT, description="Column to sort by."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="Ascending or descending."
    )


@strawberry.input(
    description=(
        "Filters of a customers list. Date and status filters keep the customers with at "
        "least one matching booking."
    )
)
class CustomerFilterInput:
    trip_date: DateRangeInput | None = strawberry.field(
        default=None, description="A booking's departure starts on these dates."
    )
    booking_date: DateRangeInput | None = strawberry.field(
        default=None, description="A booking was made on these dates, in your time zone."
    )
    status: list[BookingStatus] | None = strawberry.field(
        default=None, description="A booking has any of these statuses."
    )
    search: str | None = strawberry.field(
        default=None, description="Part of the customer's name or email; case-insensitive."
    )
    marketing_consent: bool | None = strawberry.field(
        default=None, description="Only customers who agreed (true) or did not (false)."
    )


def customer_filter(value: CustomerFilterInput | None) -> CustomerFilter:
    if value is None:
        return CustomerFilter()
    return CustomerFilter(
        trip_date=date_range(value.trip_date),
        booking_date=date_range(value.booking_date),
        statuses=tuple(value.status or ()),
        search=value.search or "",
        marketing_consent=value.marketing_consent,
    )


@strawberry.type
class CustomerQueries:
    @strawberry.field(
        description=(
            "Your organization's customers, one per person. Partners' customers are never listed."
        )
    )
    async def customers(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
        filter: Annotated[
            CustomerFilterInput | None, strawberry.argument(description="Filters to apply.")
        ] = None,
        order_by: Annotated[
            CustomerOrder | None, strawberry.argument(description="Sort order.")
        ] = None,
    ) -> Connection[Customer]:
        viewer = viewer_of(info)
        order = order_by or CustomerOrder()
        page = await list_customers(
            viewer,
            customer_filter(filter),
            CustomerSort(order.field.value),
            order.direction is SortDirection.DESC,
            page_request(first, after, last, before),
        )
        return build_connection(page, lambda row: Customer.from_row(row, viewer.currency))
