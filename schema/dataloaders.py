"""DataLoaders built per request, so cached rows never cross viewers or requests.

Each loader fetches all the keys asked for in one tick with one query, which keeps the cost of a
nested page independent of its size.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader
from tortoise.expressions import Subquery
from tortoise.models import Model

from models.access import Viewer
from models.bookings import Buyer, CustomFieldAnswer, Guest
from models.catalog import Activity, CustomField, Departure
from models.organizations import Organization
from models.queries.departures import seats_taken
from models.queries.visibility import visible_bookings
from models.users import User, UserRole

RowT = TypeVar("RowT", bound=Model)


def _by_id(rows: Iterable[RowT], keys: list[int]) -> list[RowT | None]:
    found = {row.pk: row for row in rows}
    return [found.get(key) for key in keys]


def _grouped(rows: Iterable[RowT], attribute: str, keys: list[int]) -> list[list[RowT]]:
    groups: dict[int, list[RowT]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, attribute)].append(row)
    return [groups.get(key, []) for key in keys]


class OrganizationByIdLoader(DataLoader[int, Organization | None]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[Organization | None]:
        return _by_id(await Organization.filter(id__in=keys), keys)


class DepartureByIdLoader(DataLoader[int, Departure | None]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[Departure | None]:
        return _by_id(await Departure.filter(id__in=keys), keys)


class ActivityByIdLoader(DataLoader[int, Activity | None]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[Activity | None]:
        return _by_id(await Activity.filter(id__in=keys), keys)


class BuyerByBookingIdLoader(DataLoader[int, Buyer | None]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[Buyer | None]:
        buyers = {buyer.booking_id: buyer for buyer in await Buyer.filter(booking_id__in=keys)}
        return [buyers.get(key) for key in keys]


class GuestsByBookingIdLoader(DataLoader[int, list[Guest]]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[list[Guest]]:
        guests = await Guest.filter(booking_id__in=keys).order_by("booking_id", "position", "id")
        return _grouped(guests, "booking_id", keys)


class GuestsByDepartureIdLoader(DataLoader[int, list[Guest]]):
    """The manifest: guests of the bookings on a departure that the viewer may read."""

    def __init__(self, viewer: Viewer) -> None:
        super().__init__(load_fn=self._load)
        self.viewer = viewer

    async def _load(self, keys: list[int]) -> list[list[Guest]]:
        bookings = visible_bookings(self.viewer, include_partners=True).filter(
            departure_id__in=keys
        )
        guests = (
            await Guest.filter(booking_id__in=Subquery(bookings.values("id")))
            .select_related("booking")
            .order_by("last_name", "first_name", "id")
        )
        groups: dict[int, list[Guest]] = defaultdict(list)
        for guest in guests:
            groups[guest.booking.departure_id].append(guest)
        return [groups.get(key, []) for key in keys]


class SeatsTakenByDepartureIdLoader(DataLoader[int, int]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[int]:
        taken = await seats_taken(keys)
        return [taken[key] for key in keys]


class GuidesByDepartureIdLoader(DataLoader[int, list[User]]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[list[User]]:
        departures = await Departure.filter(id__in=keys).prefetch_related("guides")
        guides = {departure.id: list(departure.guides) for departure in departures}
        return [guides.get(key, []) for key in keys]


class BookingAnswersByBookingIdLoader(DataLoader[int, list[CustomFieldAnswer]]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[list[CustomFieldAnswer]]:
        answers = (
            await CustomFieldAnswer.filter(booking_id__in=keys, guest_id=None)
            .select_related("custom_field")
            .order_by("id")
        )
        return _grouped(answers, "booking_id", keys)


class AnswersByGuestIdLoader(DataLoader[int, list[CustomFieldAnswer]]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[list[CustomFieldAnswer]]:
        answers = (
            await CustomFieldAnswer.filter(guest_id__in=keys)
            .select_related("custom_field")
            .order_by("id")
        )
        return _grouped(answers, "guest_id", keys)


class CustomFieldsByOrganizationIdLoader(DataLoader[int, list[CustomField]]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[list[CustomField]]:
        custom_fields = await CustomField.filter(organization_id__in=keys).order_by(
            "scope", "position", "id"
        )
        return _grouped(custom_fields, "organization_id", keys)


class UserByIdLoader(DataLoader[int, User | None]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[User | None]:
        return _by_id(await User.filter(id__in=keys), keys)


class RolesByUserIdLoader(DataLoader[int, list[UserRole]]):
    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> list[list[UserRole]]:
        roles = await UserRole.filter(user_id__in=keys).order_by("role")
        return _grouped(roles, "user_id", keys)


@dataclass(slots=True)
class Loaders:
    organization_by_id: OrganizationByIdLoader
    departure_by_id: DepartureByIdLoader
    activity_by_id: ActivityByIdLoader
    buyer_by_booking_id: BuyerByBookingIdLoader
    guests_by_booking_id: GuestsByBookingIdLoader
    guests_by_departure_id: GuestsByDepartureIdLoader | None
    seats_taken_by_departure_id: SeatsTakenByDepartureIdLoader
    guides_by_departure_id: GuidesByDepartureIdLoader
    booking_answers_by_booking_id: BookingAnswersByBookingIdLoader
    answers_by_guest_id: AnswersByGuestIdLoader
    custom_fields_by_organization_id: CustomFieldsByOrganizationIdLoader
    user_by_id: UserByIdLoader
    roles_by_user_id: RolesByUserIdLoader


def build_loaders(viewer: Viewer | None) -> Loaders:
    return Loaders(
        organization_by_id=OrganizationByIdLoader(),
        departure_by_id=DepartureByIdLoader(),
        activity_by_id=ActivityByIdLoader(),
        buyer_by_booking_id=BuyerByBookingIdLoader(),
        guests_by_booking_id=GuestsByBookingIdLoader(),
        guests_by_departure_id=GuestsByDepartureIdLoader(viewer) if viewer else None,
        seats_taken_by_departure_id=SeatsTakenByDepartureIdLoader(),
        guides_by_departure_id=GuidesByDepartureIdLoader(),
        booking_answers_by_booking_id=BookingAnswersByBookingIdLoader(),
        answers_by_guest_id=AnswersByGuestIdLoader(),
        custom_fields_by_organization_id=CustomFieldsByOrganizationIdLoader(),
        user_by_id=UserByIdLoader(),
        roles_by_user_id=RolesByUserIdLoader(),
    )
