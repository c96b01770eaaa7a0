"""What an export file contains: quoting, formula neutralisation, numbers, time zones, options."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from api.exports.worker import ExportWorker
from models.bookings import Booking, Guest
from models.catalog import CustomField
from models.customers import Customer
from models.enums import CustomFieldScope, CustomFieldType, ExportStatus, Role
from models.exports import Export
from models.organizations import Organization
from models.users import User
from tests.api.exports.support import (
    create_export,
    created_export,
    export_pk,
    export_rows,
    parse_csv,
    read_file,
    run_queued_jobs,
)
from tests.factories import World, add_booking, create_departure, create_user

BYTE_ORDER_MARK = b"\xef\xbb\xbf"

GUEST_HEADERS = [
    "booking_reference",
    "trip_start (Europe/Zurich)",
    "activity",
    "guest_first_name",
    "guest_last_name",
    "guest_category",
    "guest_email",
    "guest_phone",
    "checked_in_at (Europe/Zurich)",
    "booking_status",
    "seller",
    "buyer_first_name",
    "buyer_last_name",
    "buyer_email",
    "Hotel pickup",
    "Weight in kg",
    "Dietary needs",
]

CUSTOMER_HEADERS = [
    "email",
    "first_name",
    "last_name",
    "phone",
    "country",
    "language",
    "marketing_consent",
    "booking_count",
    "total_spent (CHF)",
    "first_booking_at (Europe/Zurich)",
    "last_booking_at (Europe/Zurich)",
]

USER_HEADERS = [
    "email",
    "first_name",
    "last_name",
    "roles",
    "active",
    "last_sign_in_at (Europe/Zurich)",
    "created_at (Europe/Zurich)",
]

NASTY_TEXTS = [
    'Anna "Nanni"',
    "Smith, Jr.",
    "Dupont; Marie",
    "Tab\tinside",
    "Line one\r\nLine two",
    "Line one\nLine two",
    "Zoë Müller-Lüdenscheidt",
    "山田太郎",
    "O'Brien",
]

FORMULAS = [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1", "'+1"),
    ("-2", "'-2"),
    ("@SUM(1)", "'@SUM(1)"),
    ("\tleading tab", "'\tleading tab"),
    ("\rleading CR", "'\rleading CR"),
]
FORMULA_IDS = ["equals", "plus", "minus", "at", "tab", "carriage-return"]

DELIMITERS = ["COMMA", "SEMICOLON", "TAB"]


@pytest.fixture
def admin(world: World) -> User:
    return world.user("alpine", Role.ADMIN)


@pytest.mark.parametrize("delimiter", DELIMITERS)
async def test_nasty_text_round_trips_unchanged(world, admin, storage, delimiter):
    for text in NASTY_TEXTS:
        await add_booking(
            seller=world.alpine,
            departure=world.departure,
            guests=[("Guest", text)],
            answers={world.fields["hotel_pickup"]: text},
        )

    rows = await export_rows(admin, "GUESTS", storage, options={"delimiter": delimiter})

    assert sorted(row["guest_last_name"] for row in rows) == sorted(NASTY_TEXTS)
    assert sorted(row["Hotel pickup"] for row in rows) == sorted(NASTY_TEXTS)


@pytest.mark.parametrize(("formula", "expected"), FORMULAS, ids=FORMULA_IDS)
async def test_formula_in_guest_export_is_neutralised(world, admin, storage, formula, expected):
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        buyer_name=(formula, "Buyer"),
        guests=[(formula, "Guest")],
        answers={world.fields["hotel_pickup"]: formula},
    )

    [row] = await export_rows(admin, "GUESTS", storage)

    assert row["guest_first_name"] == expected
    assert row["buyer_first_name"] == expected
    assert row["Hotel pickup"] == expected


@pytest.mark.parametrize(("formula", "expected"), FORMULAS, ids=FORMULA_IDS)
async def test_formula_in_customer_export_is_neutralised(world, admin, storage, formula, expected):
    await add_booking(seller=world.alpine, departure=world.departure, buyer_name=(formula, formula))

    [row] = await export_rows(admin, "CUSTOMERS", storage)

    assert row["first_name"] == expected
    assert row["last_name"] == expected


@pytest.mark.parametrize(("formula", "expected"), FORMULAS, ids=FORMULA_IDS)
async def test_formula_in_user_export_is_neutralised(world, admin, storage, formula, expected):
    await User.filter(id=world.user("alpine", Role.GUIDE).id).update(first_name=formula)

    rows = await export_rows(admin, "USERS", storage, {"role": ["GUIDE"]})

    assert [row["first_name"] for row in rows] == [expected]


async def test_formula_in_field_label_neutralised(world, admin, storage):
    await CustomField.filter(id=world.fields["hotel_pickup"].id).update(label="=1+1")
    await add_booking(seller=world.alpine, departure=world.departure)

    [row] = await export_rows(admin, "GUESTS", storage)

    assert "'=1+1" in row
    assert "=1+1" not in row


@pytest.mark.parametrize("answer", ["72.5", "-3", "80"])
async def test_number_answer_stays_a_number(world, admin, storage, answer):
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        answers={world.fields["weight_kg"]: answer},
    )

    [row] = await export_rows(admin, "GUESTS", storage)

    assert row["Weight in kg"] == answer


async def test_customer_counters_stay_numbers(world, admin, storage):
    booking = await add_booking(seller=world.alpine, departure=world.departure)
    await Customer.filter(id=booking.customer_id).update(
        booking_count=3, total_spent=Decimal("-12.50")
    )

    [row] = await export_rows(admin, "CUSTOMERS", storage)

    assert row["booking_count"] == "3"
    assert row["total_spent (CHF)"] == "-12.50"


@pytest.mark.parametrize("number", ["+41 79 123 45 67", "0041791234567", "(044) 123-45.67"])
async def test_phone_keeps_exact_characters(world, admin, storage, number):
    booking = await add_booking(seller=world.alpine, departure=world.departure)
    await Guest.filter(booking_id=booking.id).update(phone=number)
    await Customer.filter(id=booking.customer_id).update(phone=number)

    [guest] = await export_rows(admin, "GUESTS", storage)
    [customer] = await export_rows(admin, "CUSTOMERS", storage)

    assert guest["guest_phone"] == number
    assert customer["phone"] == number


async def test_phone_with_letters_is_neutralised(world, admin, storage):
    booking = await add_booking(seller=world.alpine, departure=world.departure)
    await Guest.filter(booking_id=booking.id).update(phone="+HYPERLINK(1)")

    [row] = await export_rows(admin, "GUESTS", storage)

    assert row["guest_phone"] == "'+HYPERLINK(1)"


async def test_reference_keeps_leading_zeros(world, admin, storage):
    booking = await add_booking(seller=world.alpine, departure=world.departure)
    await Booking.filter(id=booking.id).update(reference="000123")

    [row] = await export_rows(admin, "GUESTS", storage)

    assert row["booking_reference"] == "000123"


@pytest.mark.parametrize(
    ("list_name", "headers"),
    [("GUESTS", GUEST_HEADERS), ("CUSTOMERS", CUSTOMER_HEADERS), ("USERS", USER_HEADERS)],
    ids=["guests", "customers", "users"],
)
async def test_header_row_names_columns(world, admin, storage, worker, list_name, headers):
    export = created_export(await create_export(admin, list_name))
    await run_queued_jobs(worker)

    row = await Export.get(id=export_pk(export))
    assert parse_csv(read_file(storage, row))[0] == headers


async def test_header_row_of_empty_export(world, admin, storage):
    export = created_export(await create_export(admin, "GUESTS"))
    await run_queued_jobs(ExportWorker(storage))

    row = await Export.get(id=export_pk(export))
    assert row.status is ExportStatus.DONE
    assert row.rows_written == 0
    assert parse_csv(read_file(storage, row)) == [GUEST_HEADERS]


async def test_one_column_per_custom_field(world, admin, storage):
    await CustomField.create(
        organization_id=world.alpine.id,
        scope=CustomFieldScope.BOOKING,
        key="pickup_hotel_2",
        label="Hotel pickup",
        type=CustomFieldType.TEXT,
        position=3,
    )
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        answers={world.fields["dietary_needs"]: "vegan", world.fields["hotel_pickup"]: "Bellevue"},
    )

    [row] = await export_rows(admin, "GUESTS", storage)

    assert list(row)[len(GUEST_HEADERS) - 3 :] == [
        "Hotel pickup (hotel_pickup)",
        "Hotel pickup (pickup_hotel_2)",
        "Weight in kg",
        "Dietary needs",
    ]
    assert row["Hotel pickup (hotel_pickup)"] == "Bellevue"
    assert row["Hotel pickup (pickup_hotel_2)"] == ""
    assert row["Dietary needs"] == "vegan"


async def test_lines_end_with_crlf(world, admin, storage, worker):
    await add_booking(seller=world.alpine, departure=world.departure)
    await add_booking(seller=world.alpine, departure=world.other_departure)
    export = created_export(await create_export(admin, "GUESTS"))
    await run_queued_jobs(worker)

    content = read_file(storage, await Export.get(id=export_pk(export)))

    assert content.count(b"\r\n") == 3
    assert content.count(b"\n") == 3
    assert content.endswith(b"\r\n")


@pytest.mark.parametrize(
    ("options", "has_mark"),
    [({"byteOrderMark": True}, True), ({"byteOrderMark": False}, False), (None, False)],
    ids=["asked", "declined", "default"],
)
async def test_byte_order_mark_only_when_asked(world, admin, storage, worker, options, has_mark):
    export = created_export(await create_export(admin, "USERS", options=options))
    await run_queued_jobs(worker)

    content = read_file(storage, await Export.get(id=export_pk(export)))

    assert content.startswith(BYTE_ORDER_MARK) is has_mark
    assert content.removeprefix(BYTE_ORDER_MARK).startswith(b"email,")


@pytest.mark.parametrize(
    ("delimiter", "character"),
    [("COMMA", ","), ("SEMICOLON", ";"), ("TAB", "\t")],
    ids=["comma", "semicolon", "tab"],
)
async def test_delimiter_separates_cells(world, admin, storage, worker, delimiter, character):
    export = created_export(await create_export(admin, "USERS", options={"delimiter": delimiter}))
    await run_queued_jobs(worker)

    content = read_file(storage, await Export.get(id=export_pk(export)))

    header = content.decode("utf-8").split("\r\n")[0]
    assert header == character.join(USER_HEADERS)


async def test_late_trip_on_last_range_day(world, admin, storage):
    # 23:30 in Zurich on 20 July is 21:30 UTC, so a range read in UTC would miss it.
    late = await create_departure(
        world.activity, datetime(2026, 7, 20, 21, 30, tzinfo=UTC), time_zone="Europe/Zurich"
    )
    await add_booking(seller=world.alpine, departure=late, guests=[("Late", "Flyer")])

    rows = await export_rows(
        admin, "GUESTS", storage, {"tripDate": {"from": "2026-07-16", "to": "2026-07-20"}}
    )

    assert [row["guest_last_name"] for row in rows] == ["Flyer"]
    assert rows[0]["trip_start (Europe/Zurich)"] == "2026-07-20T23:30:00+02:00"


@pytest.mark.parametrize(
    ("starts_at", "expected"),
    [
        (datetime(2026, 7, 14, 7, 0, tzinfo=UTC), "2026-07-14T09:00:00+02:00"),
        (datetime(2026, 1, 14, 7, 0, tzinfo=UTC), "2026-01-14T08:00:00+01:00"),
    ],
    ids=["summer", "winter"],
)
async def test_trip_start_has_offset_of_its_season(world, admin, storage, starts_at, expected):
    departure = await create_departure(world.activity, starts_at, time_zone="Europe/Zurich")
    await add_booking(seller=world.alpine, departure=departure)

    [row] = await export_rows(admin, "GUESTS", storage)

    assert row["trip_start (Europe/Zurich)"] == expected


async def test_checked_in_at_in_organization_zone(world, admin, storage):
    booking = await add_booking(seller=world.alpine, departure=world.departure)
    await Guest.filter(booking_id=booking.id).update(
        checked_in_at=datetime(2026, 7, 14, 6, 45, tzinfo=UTC)
    )

    [row] = await export_rows(admin, "GUESTS", storage)

    assert row["checked_in_at (Europe/Zurich)"] == "2026-07-14T08:45:00+02:00"


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [
        ("Europe/Zurich", "2026-03-01T13:00:00+01:00"),
        ("America/New_York", "2026-03-01T07:00:00-05:00"),
        ("Asia/Kolkata", "2026-03-01T17:30:00+05:30"),
    ],
    ids=["zurich", "new-york", "kolkata"],
)
async def test_customer_timestamps_in_organization_zone(world, admin, storage, time_zone, expected):
    await Organization.filter(id=world.alpine.id).update(time_zone=time_zone)
    await add_booking(
        seller=world.alpine,
        departure=world.departure,
        created_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    )

    [row] = await export_rows(admin, "CUSTOMERS", storage)

    assert row[f"first_booking_at ({time_zone})"] == expected
    assert row[f"last_booking_at ({time_zone})"] == expected


async def test_user_roles_and_flags(world, admin, storage):
    user = await create_user(
        world.alpine, Role.EMPLOYEE, Role.ACCOUNTANT, email="two@alpine.example"
    )
    await User.filter(id=user.id).update(is_active=False)

    rows = await export_rows(admin, "USERS", storage, {"search": "two@"})

    assert [row["roles"] for row in rows] == ["ACCOUNTANT EMPLOYEE"]
    assert [row["active"] for row in rows] == ["false"]
