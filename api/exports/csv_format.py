"""Turning list rows into CSV cells: columns, time zones and formula neutralisation."""

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from models.catalog import CustomField
from models.commands.validation import PHONE_PATTERN
from models.enums import CsvDelimiter, CustomFieldType, ExportList

DELIMITERS = {CsvDelimiter.COMMA: ",", CsvDelimiter.SEMICOLON: ";", CsvDelimiter.TAB: "\t"}

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_PATTERN = re.compile(r"^-?\d+(\.\d+)?$")

Cell = str | int
CellReader = Callable[[dict[str, Any]], Cell]


def neutralise(text: str) -> str:
    """Prefix a text that a spreadsheet would run as a formula with an apostrophe.

    The apostrophe makes Excel, LibreOffice and Google Sheets show the text as it is.
    """
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Enum):
        return neutralise(str(value.value))
    return neutralise(str(value))


def phone(value: Any) -> str:
    # A phone number made only of digits, spaces, +, -, dots and brackets cannot call a
    # function, so it keeps its exact characters; anything else is neutralised like text.
    number = str(value or "")
    return number if PHONE_PATTERN.match(number) else neutralise(number)


def number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def flag(value: Any) -> str:
    return "true" if value else "false"


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    read: CellReader


@dataclass(frozen=True, slots=True)
class CsvLayout:
    columns: Sequence[Column]

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def cells(self, row: dict[str, Any]) -> list[Cell]:
        return [column.read(row) for column in self.columns]


def timestamp_reader(key: str, zone: ZoneInfo) -> CellReader:
    def read(row: dict[str, Any]) -> str:
        value: datetime | None = row[key]
        if value is None:
            return ""
        return value.astimezone(zone).isoformat(timespec="seconds")

    return read


def field_reader(key: str, convert: Callable[[Any], Cell]) -> CellReader:
    return lambda row: convert(row[key])


def answer_reader(custom_field: CustomField) -> CellReader:
    # Numbers were normalised on input, so a NUMBER answer is a plain number in the file.
    is_number = custom_field.type is CustomFieldType.NUMBER

    def read(row: dict[str, Any]) -> Cell:
        value: str = row["answers"].get(custom_field.id, "")
        if is_number and NUMBER_PATTERN.match(value):
            return value
        return text(value)

    return read


def custom_field_headers(custom_fields: Sequence[CustomField]) -> list[str]:
    """Head each custom-field column by its label, made unique with the key if labels repeat.

    Labels are neutralised like cells: a supplier's labels reach its partners' files too.
    """
    labels = [custom_field.label for custom_field in custom_fields]
    return [
        neutralise(
            f"{custom_field.label} ({custom_field.key})"
            if labels.count(custom_field.label) > 1
            else custom_field.label
        )
        for custom_field in custom_fields
    ]


def guest_layout(time_zone: str, custom_fields: Sequence[CustomField]) -> CsvLayout:
    zone = ZoneInfo(time_zone)
    columns = [
        Column("booking_reference", field_reader("booking__reference", text)),
        Column(
            f"trip_start ({time_zone})", timestamp_reader("booking__departure__starts_at", zone)
        ),
        Column("activity", field_reader("booking__departure__activity__name", text)),
        Column("guest_first_name", field_reader("first_name", text)),
        Column("guest_last_name", field_reader("last_name", text)),
        Column("guest_category", field_reader("category", text)),
        Column("guest_email", field_reader("email", text)),
        Column("guest_phone", field_reader("phone", phone)),
        Column(f"checked_in_at ({time_zone})", timestamp_reader("checked_in_at", zone)),
        Column("booking_status", field_reader("booking__status", text)),
        Column("seller", field_reader("booking__seller__name", text)),
        Column("buyer_first_name", field_reader("booking__buyer__first_name", text)),
        Column("buyer_last_name", field_reader("booking__buyer__last_name", text)),
        Column("buyer_email", field_reader("booking__buyer__email", text)),
    ]
    headers = custom_field_headers(custom_fields)
    columns.extend(
        Column(header, answer_reader(custom_field))
        for header, custom_field in zip(headers, custom_fields, strict=True)
    )
    return CsvLayout(columns)


def customer_layout(time_zone: str, currency: str) -> CsvLayout:
    zone = ZoneInfo(time_zone)
    return CsvLayout(
        [
            Column("email", field_reader("email", text)),
            Column("first_name", field_reader("first_name", text)),
            Column("last_name", field_reader("last_name", text)),
            Column("phone", field_reader("phone", phone)),
            Column("country", field_reader("country", text)),
            Column("language", field_reader("language", text)),
            Column("marketing_consent", field_reader("marketing_consent", flag)),
            Column("booking_count", field_reader("booking_count", number)),
            Column(f"total_spent ({currency})", field_reader("total_spent", number)),
            Column(f"first_booking_at ({time_zone})", timestamp_reader("first_booking_at", zone)),
            Column(f"last_booking_at ({time_zone})", timestamp_reader("last_booking_at", zone)),
        ]
    )


def user_layout(time_zone: str) -> CsvLayout:
    zone = ZoneInfo(time_zone)
    return CsvLayout(
        [
            Column("email", field_reader("email", text)),
            Column("first_name", field_reader("first_name", text)),
            Column("last_name", field_reader("last_name", text)),
            Column("roles", lambda row: text(" ".join(row["roles"]))),
            Column("active", field_reader("is_active", flag)),
            Column(f"last_sign_in_at ({time_zone})", timestamp_reader("last_sign_in_at", zone)),
            Column(f"created_at ({time_zone})", timestamp_reader("created_at", zone)),
        ]
    )


def csv_writer(stream: Any, delimiter: CsvDelimiter) -> Any:
    """Return a writer with RFC 4180 quoting and CRLF line ends."""
    return csv.writer(
        stream,
        delimiter=DELIMITERS[delimiter],
        quoting=csv.QUOTE_MINIMAL,
        lineterminator="\r\n",
    )


LIST_FILE_PREFIX = {
    ExportList.GUESTS: "guests",
    ExportList.CUSTOMERS: "customers",
    ExportList.USERS: "users",
}
