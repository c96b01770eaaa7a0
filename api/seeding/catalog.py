"""The fixed part of the seed: organizations and their staff, activities, custom fields."""

from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal

from models.enums import GuestCategory, Role


@dataclass(frozen=True, slots=True)
class OrganizationSpec:
    slug: str
    name: str
    time_zone: str
    currency: str
    # Starts the booking references of the organization's sales, such as AA-7K3M9Q.
    reference_prefix: str
    # First and last name of the one user per role.
    staff: dict[Role, tuple[str, str]]


ALPINE = OrganizationSpec(
    slug="alpine",
    name="Alpine Adventures",
    time_zone="Europe/Zurich",
    currency="CHF",
    reference_prefix="AA",
    staff={
        Role.ADMIN: ("Anna", "Keller"),
        Role.EMPLOYEE: ("Luca", "Bernasconi"),
        Role.AGENT: ("Chloé", "Favre"),
        Role.ACCOUNTANT: ("Jürg", "Brunner"),
        Role.EDITOR: ("Sofia", "Rossi"),
        Role.GUIDE: ("Reto", "Zurbriggen"),
    },
)
LAKESIDE = OrganizationSpec(
    slug="lakeside",
    name="Lakeside Tours",
    time_zone="Europe/Zurich",
    currency="CHF",
    reference_prefix="LT",
    staff={
        Role.ADMIN: ("Marco", "Steiner"),
        Role.EMPLOYEE: ("Lea", "Graf"),
        Role.AGENT: ("Noah", "Baumann"),
        Role.ACCOUNTANT: ("Elena", "Moser"),
        Role.EDITOR: ("Tim", "Frei"),
        Role.GUIDE: ("Nina", "Roth"),
    },
)
# A former partner whose connection is REVOKED: none of Alpine's data may show for its users.
SUMMIT = OrganizationSpec(
    slug="summit",
    name="Summit Resellers",
    time_zone="Europe/Vienna",
    currency="EUR",
    reference_prefix="SR",
    staff={
        Role.ADMIN: ("Katharina", "Gruber"),
        Role.EMPLOYEE: ("Florian", "Huber"),
        Role.AGENT: ("Julia", "Wagner"),
        Role.ACCOUNTANT: ("Stefan", "Pichler"),
        Role.EDITOR: ("Lena", "Steiner"),
        Role.GUIDE: ("Lukas", "Hofer"),
    },
)
ORGANIZATIONS = (ALPINE, LAKESIDE, SUMMIT)


@dataclass(frozen=True, slots=True)
class ActivityTemplate:
    name: str
    description: str
    duration: timedelta
    capacity: int
    adult_price: Decimal
    # Days of the week with departures, Monday = 0, and their local start times.
    weekdays: frozenset[int]
    start_times: tuple[time, ...]
    # Share of departures the GUIDE user leads.
    guide_share: float
    allows_infants: bool
    # An optional extra per booking (photos, equipment) and how often it is bought.
    extra_price: Decimal = Decimal(0)
    extra_share: float = 0.0


EVERY_DAY = frozenset(range(7))
ACTIVITIES = (
    ActivityTemplate(
        name="Tandem paragliding flight",
        description="A 20-minute tandem flight from Beatenberg down to Interlaken with a pilot.",
        duration=timedelta(hours=1, minutes=30),
        capacity=8,
        adult_price=Decimal("180.00"),
        weekdays=EVERY_DAY,
        start_times=(time(9, 0), time(11, 0), time(13, 30)),
        guide_share=0.4,
        allows_infants=False,
        extra_price=Decimal("39.50"),
        extra_share=0.3,
    ),
    ActivityTemplate(
        name="Lake Thun sunset cruise",
        description="Two hours on Lake Thun at sunset, with drinks on the upper deck.",
        duration=timedelta(hours=2),
        capacity=40,
        adult_price=Decimal("65.00"),
        weekdays=EVERY_DAY,
        start_times=(time(17, 45),),
        guide_share=0.1,
        allows_infants=True,
    ),
    ActivityTemplate(
        name="Old town walking tour",
        description="The old town of Bern, its arcades and the clock tower, on foot.",
        duration=timedelta(hours=2),
        capacity=20,
        adult_price=Decimal("30.00"),
        weekdays=frozenset({1, 3, 5, 6}),
        start_times=(time(10, 0), time(14, 0)),
        guide_share=0.5,
        allows_infants=True,
    ),
    ActivityTemplate(
        name="Glacier hike",
        description="A roped day hike on the Aletsch glacier with a mountain guide.",
        duration=timedelta(hours=6),
        capacity=12,
        adult_price=Decimal("140.00"),
        weekdays=frozenset({2, 5, 6}),
        start_times=(time(8, 0),),
        guide_share=1.0,
        allows_infants=False,
        extra_price=Decimal("15.00"),
        extra_share=0.25,
    ),
)

DIETARY_OPTIONS = ["none", "vegetarian", "vegan", "gluten-free", "halal", "kosher"]
DIETARY_WEIGHTS = [60, 18, 7, 6, 5, 4]
HEARD_ABOUT_OPTIONS = [
    "search engine",
    "friends or family",
    "hotel reception",
    "social media",
    "travel agent",
    "been before",
]
HOTELS = [
    "Hotel Victoria-Jungfrau, Interlaken",
    "Hotel Alpenrose, Wilderswil",
    "Backpackers Villa Sonnenhof",
    "Hotel Bellevue Palace, Bern",
    "Hotel Schweizerhof, Thun",
    "Camping Manor Farm",
    "Hotel Eiger, Grindelwald",
    "Chalet Edelweiss (private)",
]

# Share of each guest category after the first guest, who is an adult, senior or student.
FIRST_GUEST_CATEGORIES = [GuestCategory.ADULT, GuestCategory.SENIOR, GuestCategory.STUDENT]
FIRST_GUEST_WEIGHTS = [85, 10, 5]
OTHER_GUEST_CATEGORIES = [
    GuestCategory.ADULT,
    GuestCategory.CHILD,
    GuestCategory.SENIOR,
    GuestCategory.STUDENT,
    GuestCategory.INFANT,
]
OTHER_GUEST_WEIGHTS = [55, 25, 8, 7, 5]
GUEST_COUNTS = [1, 2, 3, 4, 5]
GUEST_COUNT_WEIGHTS = [30, 35, 15, 12, 8]
# Price of each category as a share of the adult price.
PRICE_FACTORS = {
    GuestCategory.ADULT: Decimal("1"),
    GuestCategory.SENIOR: Decimal("0.9"),
    GuestCategory.STUDENT: Decimal("0.85"),
    GuestCategory.CHILD: Decimal("0.5"),
    GuestCategory.INFANT: Decimal("0"),
}
