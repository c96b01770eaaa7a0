"""Concurrent bookings and cancellations: seats and customer counters stay exact."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from models.bookings import Booking
from models.catalog import Departure
from models.customers import Customer
from models.enums import BookingStatus, Role
from models.queries.departures import seats_taken
from models.users import UserRole
from schema.relay import to_global_id
from tests.factories import World, create_departure, create_user
from tests.helpers import Result, execute

CREATE_BOOKING = """
mutation CreateBooking($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id }
    errors { field code message }
  }
}
"""

CANCEL_BOOKING = """
mutation CancelBooking($input: CancelBookingInput!) {
  cancelBooking(input: $input) {
    booking { status }
    errors { field code message }
  }
}
"""


def booking_input(departure: Departure, index: int, *, email: str = "") -> dict[str, Any]:
    return {
        "departure": to_global_id("Departure", departure.id),
        "buyer": {
            "firstName": "Buyer",
            "lastName": f"Number{index}",
            "email": email or f"buyer{index}@example.com",
        },
        "guests": [
            {
                "firstName": "Guest",
                "lastName": f"Number{index}",
                "answers": [{"key": "weight_kg", "value": "70"}],
            }
        ],
        "totalAmount": "25.00",
    }


def outcome(result: Result) -> str:
    """Name what a mutation returned: OK, a user error code, or the GraphQL error codes."""
    if result.errors:
        return "+".join(result.codes)
    assert result.data is not None
    payload = next(iter(result.data.values()))
    codes = [error["code"] for error in payload["errors"]]
    return "+".join(codes) or "OK"


async def test_concurrent_bookings_fill_capacity_exactly(world):
    departure = await create_departure(
        world.activity,
        datetime(2026, 9, 1, 7, 0, tzinfo=UTC),
        capacity=10,
        time_zone="Europe/Zurich",
    )
    employee = world.user("alpine", Role.EMPLOYEE)

    results = await asyncio.gather(
        *(
            execute(employee, CREATE_BOOKING, {"input": booking_input(departure, index)})
            for index in range(20)
        )
    )

    assert Counter(outcome(result) for result in results) == {
        "OK": 10,
        "CAPACITY_EXCEEDED": 10,
    }
    assert (await seats_taken([departure.id]))[departure.id] == 10
    assert await Booking.filter(departure_id=departure.id).count() == 10


async def departures(world: World, count: int) -> list[Departure]:
    first = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
    return [
        await create_departure(
            world.activity, first + timedelta(days=day), capacity=10, time_zone="Europe/Zurich"
        )
        for day in range(count)
    ]


async def test_concurrent_first_bookings_make_one_customer(world):
    # Separate departures, so the departure lock does not queue the bookings one by one and
    # the customer row is what they race for.
    trips = await departures(world, 10)
    employee = world.user("alpine", Role.EMPLOYEE)
    spellings = ["new.buyer@example.com", " New.Buyer@Example.com ", "NEW.BUYER@EXAMPLE.COM"]

    results = await asyncio.gather(
        *(
            execute(
                employee,
                CREATE_BOOKING,
                {"input": booking_input(trip, index, email=spellings[index % 3])},
            )
            for index, trip in enumerate(trips)
        )
    )

    assert [outcome(result) for result in results] == ["OK"] * 10
    customers = await Customer.filter(organization_id=world.alpine.id)
    assert len(customers) == 1
    assert customers[0].email_key == "new.buyer@example.com"
    assert customers[0].booking_count == 10
    assert customers[0].total_spent == Decimal("250.00")
    assert await Booking.filter(customer_id=customers[0].id).count() == 10


async def test_concurrent_first_bookings_on_one_departure(world):
    trip = (await departures(world, 1))[0]
    employee = world.user("alpine", Role.EMPLOYEE)

    results = await asyncio.gather(
        *(
            execute(
                employee,
                CREATE_BOOKING,
                {"input": booking_input(trip, index, email="same.buyer@example.com")},
            )
            for index in range(10)
        )
    )

    assert [outcome(result) for result in results] == ["OK"] * 10
    customer = await Customer.get(organization_id=world.alpine.id)
    assert customer.booking_count == 10
    assert customer.total_spent == Decimal("250.00")


async def test_concurrent_cancels_count_once(world):
    employee = world.user("alpine", Role.EMPLOYEE)
    trip = (await departures(world, 1))[0]
    first = await execute(employee, CREATE_BOOKING, {"input": booking_input(trip, 1)})
    await execute(
        employee, CREATE_BOOKING, {"input": booking_input(trip, 2, email="buyer1@example.com")}
    )
    assert first.data is not None
    booking_id = first.data["createBooking"]["booking"]["id"]

    results = await asyncio.gather(
        *(execute(employee, CANCEL_BOOKING, {"input": {"id": booking_id}}) for _ in range(5))
    )

    assert Counter(outcome(result) for result in results) == {
        "OK": 1,
        "ALREADY_CANCELLED": 4,
    }
    customer = await Customer.get(organization_id=world.alpine.id)
    assert customer.booking_count == 1
    assert customer.total_spent == Decimal("25.00")
    assert await Booking.filter(status=BookingStatus.CANCELLED).count() == 1
    assert (await seats_taken([trip.id]))[trip.id] == 1


DEMOTE = """
mutation Demote($id: ID!) {
  updateUserRoles(input: {id: $id, roles: [EMPLOYEE]}) { errors { code } }
}
"""


async def test_admins_demoting_each_other_keep_one_admin(world):
    first = world.user("alpine", Role.ADMIN)
    second = await create_user(world.alpine, Role.ADMIN, email="second-admin@alpine.example")

    results = await asyncio.gather(
        execute(first, DEMOTE, {"id": to_global_id("User", second.id)}),
        execute(second, DEMOTE, {"id": to_global_id("User", first.id)}),
    )

    codes = []
    for result in results:
        assert result.data is not None, result.errors
        codes.append(result.data["updateUserRoles"]["errors"])
    assert sorted(len(errors) for errors in codes) == [0, 1]
    admins = await UserRole.filter(role=Role.ADMIN, user__organization_id=world.alpine.id).count()
    assert admins == 1
