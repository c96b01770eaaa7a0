"""The columns of each export: headers, and what kind of cell each column holds.

The cells themselves are built in SQL (see `api.exports.csv_sql`), so the database formats a
whole export in one statement. This module decides which columns there are, in which order.
"""

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from models.catalog import CustomField
from models.enums import CsvDelimiter, CustomFieldType, ExportList

DELIMITERS = {CsvDelimiter.COMMA: ",", CsvDelimiter.SEMICOLON: ";", CsvDelimiter.TAB: "\t"}

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Prefix a text that a spreadsheet would run as a formula with an apostrophe.

    The apostrophe makes Excel, LibreOffice and Google Sheets show the text as it is.
    """
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class CellKind(Enum):
    """The conversion that turns a source value into a cell."""

    TEXT = "text"  # neutralised; empty when null
    CODE = "code"  # a fixed word such as an enum value: as stored
    PHONE = "phone"  # exact when it is a valid phone number, else neutralised like text
    TIMESTAMP = "timestamp"  # in the organization's zone, ISO 8601 with the offset
    NUMBER = "number"  # an integer as it is
    DECIMAL = "decimal"  # a decimal with two places, such as -12.50
    FLAG = "flag"  # true or false
    ANSWER = "answer"  # a custom-field answer of the guest, or of its booking
    ROLES = "roles"  # the user's roles, separated by spaces


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column: its header and the source value its cells come from.

    `source` names a column of the list's source statement. `custom_field` is set for ANSWER
    cells. `seller_only` blanks the cell on rows another organization sold, because buyers
    belong to the seller.
    """

    header: str
    kind: CellKind
    source: str = ""
    custom_field: CustomField | None = None
    seller_only: bool = False

    @property
    def is_number_answer(self) -> bool:
        return self.custom_field is not None and self.custom_field.type is CustomFieldType.NUMBER


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """The columns of an export, and who reads it: the zone and organization its cells use."""

    columns: Sequence[Column]
    time_zone: str
    organization_id: int

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]


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


def guest_layout(
    time_zone: str, organization_id: int, custom_fields: Sequence[CustomField]
) -> CsvLayout:
    text, code, timestamp = CellKind.TEXT, CellKind.CODE, CellKind.TIMESTAMP
    columns = [
        Column("booking_reference", text, "booking__reference"),
        Column(f"trip_start ({time_zone})", timestamp, "booking__departure__starts_at"),
        Column("activity", text, "booking__departure__activity__name"),
        Column("guest_first_name", text, "first_name"),
        Column("guest_last_name", text, "last_name"),
        Column("guest_category", code, "category"),
        Column("guest_email", text, "email"),
        Column("guest_phone", CellKind.PHONE, "phone"),
        Column(f"checked_in_at ({time_zone})", timestamp, "checked_in_at"),
        Column("booking_status", code, "booking__status"),
        Column("seller", text, "booking__seller__name"),
        Column("buyer_first_name", text, "booking__buyer__first_name", seller_only=True),
        Column("buyer_last_name", text, "booking__buyer__last_name", seller_only=True),
        Column("buyer_email", text, "booking__buyer__email", seller_only=True),
    ]
    headers = custom_field_headers(custom_fields)
    columns.extend(
        Column(header, CellKind.ANSWER, custom_field=custom_field)
        for header, custom_field in zip(headers, custom_fields, strict=True)
    )
    return CsvLayout(columns, time_zone, organization_id)


def customer_layout(time_zone: str, organization_id: int, currency: str) -> CsvLayout:
    text, timestamp = CellKind.TEXT, CellKind.TIMESTAMP
    columns = [
        Column("email", text, "email"),
        Column("first_name", text, "first_name"),
        Column("last_name", text, "last_name"),
        Column("phone", CellKind.PHONE, "phone"),
        Column("country", text, "country"),
        Column("language", text, "language"),
        Column("marketing_consent", CellKind.FLAG, "marketing_consent"),
        Column("booking_count", CellKind.NUMBER, "booking_count"),
        Column(f"total_spent ({currency})", CellKind.DECIMAL, "total_spent"),
        Column(f"first_booking_at ({time_zone})", timestamp, "first_booking_at"),
        Column(f"last_booking_at ({time_zone})", timestamp, "last_booking_at"),
    ]
    return CsvLayout(columns, time_zone, organization_id)


def user_layout(time_zone: str, organization_id: int) -> CsvLayout:
    text, timestamp = CellKind.TEXT, CellKind.TIMESTAMP
    columns = [
        Column("email", text, "email"),
        Column("first_name", text, "first_name"),
        Column("last_name", text, "last_name"),
        Column("roles", CellKind.ROLES, "id"),
        Column("active", CellKind.FLAG, "is_active"),
        Column(f"last_sign_in_at ({time_zone})", timestamp, "last_sign_in_at"),
        Column(f"created_at ({time_zone})", timestamp, "created_at"),
    ]
    return CsvLayout(columns, time_zone, organization_id)


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


class CrlfLineEnds:
    """Turn the LF row ends of PostgreSQL's COPY CSV into CRLF, chunk by chunk, counting rows.

    A line break inside a quoted cell stays as it is. Quotes only open and close quoted cells
    (a quote inside one is doubled), so a LF is a row end exactly when an even number of quotes
    comes before it; the count carries over from one chunk to the next.
    """

    def __init__(self) -> None:
        self.in_quotes = False
        self.rows = 0

    def convert(self, chunk: bytes) -> bytes:
        if b'"' not in chunk and not self.in_quotes:
            self.rows += chunk.count(b"\n")
            return chunk.replace(b"\n", b"\r\n")

        parts = chunk.split(b'"')
        for index in range(1 if self.in_quotes else 0, len(parts), 2):
            self.rows += parts[index].count(b"\n")
            parts[index] = parts[index].replace(b"\n", b"\r\n")
        if len(parts) % 2 == 0:
            self.in_quotes = not self.in_quotes
        return b'"'.join(parts)
