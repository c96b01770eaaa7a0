"""Cells built in SQL against the documented rules, written out by Python's csv module.

Each test exports through `write_csv`, the path export jobs and `tourdesk export` take, and
compares the file with one that an independent Python writer makes from the same rows.
"""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections

from api.exports.csv_format import CellKind
from api.exports.csv_sql import export_statement
from api.exports.jobs import export_source, write_csv
from models.access import Viewer
from models.bookings import Buyer, CustomFieldAnswer, Guest
from models.catalog import CustomField
from models.commands.exports import ExportOptions
from models.enums import CsvDelimiter, CustomFieldScope, CustomFieldType, Role
from models.organizations import Organization
from models.queries.bookings import BookingFilter
from models.queries.guests import GuestFilter
from tests.conftest import BACKEND
from tests.factories import World, add_booking, create_departure, viewer_for

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PHONE = re.compile(r"\+?[0-9 ()./-]{3,40}")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")

TRICKY_TEXTS = [
    "=1+1",
    "+41 79 123 45 67",
    "-2",
    "@SUM(A1)",
    "\tleading tab",
    "\rleading carriage return",
    'Anna "Nanni"',
    "Smith, Jr.",
    "Dupont; Marie",
    "Line one\r\nLine two",
    "Line one\nLine two",
    "Zoë Müller-Lüdenscheidt",
    "山田太郎 🏔",
    "",
]

ZONES = [
    "Europe/Zurich",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
    "UTC",
]


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).isoformat(timespec="seconds")


async def expected_guest_file(viewer: Viewer, options: ExportOptions) -> str:
    """Write the viewer's guests export, partners included, with Python's csv module."""
    zone = ZoneInfo(viewer.time_zone)
    fields = await CustomField.filter(organization_id=viewer.organization_id).order_by(
        "scope", "position", "id"
    )
    guests = await Guest.all().select_related("booking__departure__activity", "booking__seller")
    guests.sort(key=lambda guest: (guest.booking.departure.starts_at, guest.id))

    stream = io.StringIO(newline="")
    if options.byte_order_mark:
        stream.write("\ufeff")
    delimiter = {"COMMA": ",", "SEMICOLON": ";", "TAB": "\t"}[options.delimiter.value]
    writer = csv.writer(stream, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(
        [
            "booking_reference",
            f"trip_start ({viewer.time_zone})",
            "activity",
            "guest_first_name",
            "guest_last_name",
            "guest_category",
            "guest_email",
            "guest_phone",
            f"checked_in_at ({viewer.time_zone})",
            "booking_status",
            "seller",
            "buyer_first_name",
            "buyer_last_name",
            "buyer_email",
            *(neutralise(field.label) for field in fields),
        ]
    )
    for guest in guests:
        writer.writerow(await expected_guest_cells(guest, fields, viewer, zone))
    return stream.getvalue()


async def expected_guest_cells(
    guest: Guest, fields: list[CustomField], viewer: Viewer, zone: ZoneInfo
) -> list[str]:
    booking = guest.booking
    buyer = await Buyer.get(booking_id=booking.id)
    sold_here = booking.seller_id == viewer.organization_id
    phone = guest.phone if PHONE.fullmatch(guest.phone) else neutralise(guest.phone)
    cells = [
        neutralise(booking.reference),
        local_time(booking.departure.starts_at, zone),
        neutralise(booking.departure.activity.name),
        neutralise(guest.first_name),
        neutralise(guest.last_name),
        guest.category.value,
        neutralise(guest.email),
        phone,
        local_time(guest.checked_in_at, zone),
        booking.status.value,
        neutralise(booking.seller.name),
        neutralise(buyer.first_name) if sold_here else "",
        neutralise(buyer.last_name) if sold_here else "",
        neutralise(buyer.email) if sold_here else "",
    ]
    for field in fields:
        guest_id = guest.id if field.scope is CustomFieldScope.GUEST else None
        answer = await CustomFieldAnswer.get_or_none(
            custom_field_id=field.id, booking_id=booking.id, guest_id=guest_id
        )
        value = answer.value if answer else ""
        is_number = field.type is CustomFieldType.NUMBER and NUMBER.fullmatch(value)
        cells.append(value if is_number else neutralise(value))
    return cells


async def exported_guest_file(viewer: Viewer, options: ExportOptions) -> str:
    stream = io.StringIO(newline="")

    async def ignore_progress(written: int, expected: int | None) -> None:
        return None

    await write_csv(
        viewer,
        GuestFilter(booking=BookingFilter(include_partners=True)),
        options,
        stream,
        ignore_progress,
    )
    return stream.getvalue()


async def admin_in_zone(world: World, time_zone: str) -> Viewer:
    await Organization.filter(id=world.alpine.id).update(time_zone=time_zone)
    return await viewer_for(world.user("alpine", Role.ADMIN))


async def add_tricky_bookings(world: World) -> None:
    fields = world.fields
    for index, text in enumerate(TRICKY_TEXTS):
        booking = await add_booking(
            seller=world.lakeside if index % 4 == 0 else world.alpine,
            departure=world.departure if index % 2 else world.other_departure,
            buyer_name=(text, text),
            buyer_email=f"{index}{text}@example.com" if index % 3 else f"buyer{index}@example.com",
            guests=[(text, text), ("Plain", text)],
            answers={
                fields["hotel_pickup"]: text,
                fields["weight_kg"]: ["72.5", "-3", "-3x", "80", "-", "1.2.3", "-0.5"][index % 7],
                fields["dietary_needs"]: text,
            },
        )
        checked_in = datetime(2026, 7, 14, 6, 30, 15, 999_999, tzinfo=UTC) if index % 2 else None
        await Guest.filter(booking_id=booking.id, first_name=text).update(
            email=text, phone=text, checked_in_at=checked_in
        )


@pytest.mark.parametrize(
    "options",
    [
        ExportOptions(),
        ExportOptions(delimiter=CsvDelimiter.SEMICOLON, byte_order_mark=True),
        ExportOptions(delimiter=CsvDelimiter.TAB),
    ],
    ids=["comma", "semicolon-bom", "tab"],
)
async def test_tricky_values_match_python_writer(world, options):
    await add_tricky_bookings(world)
    await Organization.filter(id=world.alpine.id).update(name='=Alpine; "the" best')
    viewer = await admin_in_zone(world, "America/St_Johns")

    exported = await exported_guest_file(viewer, options)

    assert exported == await expected_guest_file(viewer, options)


def transitions_in(zone: ZoneInfo, year: int) -> list[datetime]:
    """Return the instants in `year` at which the zone's UTC offset changes, to the minute."""
    found = []
    instant = datetime(year, 1, 1, tzinfo=UTC)
    while instant.year == year:
        following = instant + timedelta(minutes=15)
        if instant.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            found.append(following)
        instant = following
    return found


def instants_around_transitions(time_zone: str) -> list[datetime]:
    zone = ZoneInfo(time_zone)
    instants = [
        datetime(1901, 3, 1, 12, tzinfo=UTC),
        datetime(1975, 6, 1, 12, tzinfo=UTC),
        datetime(2150, 7, 1, 12, 0, 0, 500_000, tzinfo=UTC),
    ]
    for transition in transitions_in(zone, 2026):
        instants += [transition + timedelta(seconds=shift) for shift in (-1, 0, 1)]
    return instants


@pytest.mark.parametrize("time_zone", ZONES)
async def test_timestamps_follow_zone_transitions(world, time_zone):
    instants = instants_around_transitions(time_zone)
    for instant in instants:
        departure = await create_departure(world.activity, instant, time_zone=time_zone)
        booking = await add_booking(seller=world.alpine, departure=departure)
        await Guest.filter(booking_id=booking.id).update(checked_in_at=instant)
    viewer = await admin_in_zone(world, time_zone)

    exported = await exported_guest_file(viewer, ExportOptions())

    assert exported == await expected_guest_file(viewer, ExportOptions())
    header, *rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert header[1] == f"trip_start ({time_zone})"
    assert len(rows) == len(instants)


async def test_answer_missing_leaves_cell_empty(world):
    await add_booking(seller=world.alpine, departure=world.departure)
    viewer = await admin_in_zone(world, "Europe/Zurich")

    exported = await exported_guest_file(viewer, ExportOptions())

    [row] = list(csv.DictReader(io.StringIO(exported, newline="")))
    assert row["Hotel pickup"] == ""
    assert row["Weight in kg"] == ""
    assert row[f"checked_in_at ({viewer.time_zone})"] == ""


ANSWER_INDEX = "idx_custom_fiel_booking_answer_value"


@pytest.mark.skipif(BACKEND != "sqlite", reason="PostgreSQL reads answers by booking instead")
async def test_sqlite_reads_answers_from_index_alone(world):
    viewer = await viewer_for(world.user("alpine", Role.ADMIN))
    layout, source = await export_source(viewer, GuestFilter())
    sql = export_statement(layout, source, "sqlite")

    _, rows = await connections.get("default").execute_query(
        f"EXPLAIN QUERY PLAN {sql}", source.parameters
    )

    answer_reads = [row["detail"] for row in rows if row["detail"].startswith("SEARCH a ")]
    answer_columns = [column for column in layout.columns if column.kind is CellKind.ANSWER]
    assert len(answer_reads) == len(answer_columns)
    for read in answer_reads:
        assert f"USING COVERING INDEX {ANSWER_INDEX} " in read


@pytest.mark.skipif(BACKEND != "postgres", reason="the index is missing on PostgreSQL only")
async def test_postgres_has_no_answer_value_index(world):
    _, rows = await connections.get("default").execute_query(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'custom_field_answer'"
    )

    assert ANSWER_INDEX not in {row["indexname"] for row in rows}
