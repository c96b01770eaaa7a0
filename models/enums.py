"""Enumerations stored in the database and exposed by the API."""

from enum import StrEnum


class PartnerConnectionStatus(StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


class BookingStatus(StrEnum):
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"


class BookingChannel(StrEnum):
    BACK_OFFICE = "BACK_OFFICE"
    ONLINE = "ONLINE"
    PARTNER = "PARTNER"


class GuestCategory(StrEnum):
    ADULT = "ADULT"
    CHILD = "CHILD"
    INFANT = "INFANT"
    SENIOR = "SENIOR"
    STUDENT = "STUDENT"


class CustomFieldScope(StrEnum):
    BOOKING = "BOOKING"
    GUEST = "GUEST"


class CustomFieldType(StrEnum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"
    DATE = "DATE"
    SELECT = "SELECT"


class Role(StrEnum):
    ADMIN = "ADMIN"
    EMPLOYEE = "EMPLOYEE"
    AGENT = "AGENT"
    ACCOUNTANT = "ACCOUNTANT"
    EDITOR = "EDITOR"
    GUIDE = "GUIDE"


class ExportList(StrEnum):
    GUESTS = "GUESTS"
    CUSTOMERS = "CUSTOMERS"
    USERS = "USERS"


class ExportStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


class CsvDelimiter(StrEnum):
    COMMA = "COMMA"
    SEMICOLON = "SEMICOLON"
    TAB = "TAB"
