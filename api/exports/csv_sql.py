"""One SQL statement per export that produces the final text of every cell.

The database joins, filters, sorts and formats; Python only moves the text into the file. Each
cell follows the same rules on SQLite and PostgreSQL: text that a spreadsheet would run as a
formula gets an apostrophe in front, timestamps are ISO 8601 in the organization's zone with the
offset, and an empty cell is NULL, which both CSV writers leave empty.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from api.exports.csv_format import FORMULA_TRIGGERS, CellKind, Column, CsvLayout
from models.enums import CustomFieldScope
from models.queries.export_rows import SourceQuery

Dialect = Literal["sqlite", "postgres"]

# PostgreSQL formats in the session's zone, which the export sets to the organization's.
POSTGRES_TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'
PHONE_CHARACTERS = "0123456789 ()./-"

# SQLite has no time zones, so the statement carries the zone's UTC offsets: periods between
# transitions from 1900 to 2200, looked up by a binary search written as nested CASEs.
FIRST_ZONE_INSTANT = int(datetime(1900, 1, 1, tzinfo=UTC).timestamp())
LAST_ZONE_INSTANT = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp())
DAY_SECONDS = 86_400


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column_reference(name: str) -> str:
    return '"r"."' + name.replace('"', '""') + '"'


TRIGGER_LIST = ", ".join(literal(trigger) for trigger in FORMULA_TRIGGERS)


def starts_like_formula(value: str) -> str:
    return f"substr({value}, 1, 1) IN ({TRIGGER_LIST})"


def neutralised(value: str) -> str:
    return f"CASE WHEN {starts_like_formula(value)} THEN '''' || {value} ELSE {value} END"


def neutralised_unless(value: str, exact: str) -> str:
    """Neutralise `value` unless the condition `exact` shows it cannot be a formula."""
    return (
        f"CASE WHEN {starts_like_formula(value)} AND NOT ({exact}) "
        f"THEN '''' || {value} ELSE {value} END"
    )


def is_phone(value: str, dialect: Dialect) -> str:
    """Match the phone number rule of input validation: an optional +, then 3 to 40 characters
    out of digits, spaces, brackets, dots, slashes and hyphens."""
    if dialect == "postgres":
        return f"{value} ~ '^\\+?[0-9 ()./-]{{3,40}}$'"
    digits = f"CASE WHEN substr({value}, 1, 1) = '+' THEN substr({value}, 2) ELSE {value} END"
    return (
        f"length({digits}) BETWEEN 3 AND 40 AND ltrim({digits}, {literal(PHONE_CHARACTERS)}) = ''"
    )


def is_decimal_number(value: str, dialect: Dialect) -> str:
    """Match a plain decimal number such as -3 or 72.5, which stays a number in the file."""
    if dialect == "postgres":
        return f"{value} ~ '^-?[0-9]+(\\.[0-9]+)?$'"
    unsigned = f"CASE WHEN substr({value}, 1, 1) = '-' THEN substr({value}, 2) ELSE {value} END"
    return (
        f"{unsigned} GLOB '[0-9]*' AND {unsigned} NOT GLOB '*[^0-9.]*' "
        f"AND {unsigned} NOT GLOB '*.*.*' AND {unsigned} NOT GLOB '*.'"
    )


def offset_text(seconds: int) -> str:
    """Format a UTC offset as `datetime.isoformat` does: +HH:MM, with :SS only when needed."""
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, rest = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{rest:02d}" if rest else text


@lru_cache(maxsize=32)
def utc_offset_periods(time_zone: str) -> tuple[tuple[int, int], ...]:
    """Return (first instant, UTC offset in seconds) of each period between the zone's transitions.

    Days are probed one after the other and each change of offset is narrowed to its second.
    NOTE: two transitions less than a day apart would be missed; no zone has had such a pair
    since 1900, when this range starts.
    """
    zone = ZoneInfo(time_zone)

    def offset_at(instant: int) -> int:
        offset = datetime.fromtimestamp(instant, zone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0

    periods = [(FIRST_ZONE_INSTANT, offset_at(FIRST_ZONE_INSTANT))]
    for day in range(FIRST_ZONE_INSTANT, LAST_ZONE_INSTANT, DAY_SECONDS):
        if offset_at(day + DAY_SECONDS) == periods[-1][1]:
            continue
        before, after = day, day + DAY_SECONDS
        while after - before > 1:
            middle = (before + after) // 2
            if offset_at(middle) == periods[-1][1]:
                before = middle
            else:
                after = middle
        periods.append((after, offset_at(after)))
    return tuple(periods)


def _local_time_tree(epoch: str, periods: Sequence[tuple[int, int]]) -> str:
    if len(periods) == 1:
        offset = periods[0][1]
        local = f"strftime('%Y-%m-%dT%H:%M:%S', {epoch} + {offset}, 'unixepoch')"
        return f"{local} || {literal(offset_text(offset))}"
    middle = len(periods) // 2
    earlier = _local_time_tree(epoch, periods[:middle])
    later = _local_time_tree(epoch, periods[middle:])
    return f"CASE WHEN {epoch} < {periods[middle][0]} THEN {earlier} ELSE {later} END"


def sqlite_epoch(value: str) -> str:
    """Return the whole seconds since 1970 of a timestamp as Tortoise stores it on SQLite.

    The stored text is `datetime.isoformat(" ")`: 19 characters, then six digits of
    microseconds after a dot when there are any, then the offset. SQLite rounds a time to the
    millisecond, which would turn 06:30:15.9999 into 06:30:16, so the fraction goes first.
    strftime('%s') works on SQLite before 3.38, which has no unixepoch().
    """
    return (
        f"CAST(strftime('%s', CASE WHEN substr({value}, 20, 1) = '.' "
        f"THEN substr({value}, 1, 19) || substr({value}, 27) ELSE {value} END) AS INTEGER)"
    )


def epoch_alias(source: str) -> str:
    return f"{source}__epoch"


def answer_alias(column: Column) -> str:
    assert column.custom_field is not None
    return f"answer_{column.custom_field.id}"


def timestamp_cell(column: Column, layout: CsvLayout, dialect: Dialect) -> str:
    if dialect == "postgres":
        value = column_reference(column.source)
        # Offsets before about 1900 (local mean time) have seconds, which TZM leaves out.
        seconds = f"(extract(timezone FROM {value})::int % 60)"
        return (
            f"to_char({value}, '{POSTGRES_TIMESTAMP_FORMAT}') || CASE WHEN {seconds} <> 0 "
            f"THEN ':' || to_char(abs({seconds}), 'FM00') ELSE '' END"
        )
    periods = utc_offset_periods(layout.time_zone)
    return _local_time_tree(column_reference(epoch_alias(column.source)), periods)


def answer_value(column: Column, dialect: Dialect) -> str:
    if dialect == "postgres":
        return f'"answers"."{answer_alias(column)}"'
    return column_reference(answer_alias(column))


def answer_condition(column: Column, table: str) -> str:
    """Match the answers to a column's question for the row's booking or guest.

    An answer sits at its question's level: the booking commands store a BOOKING question's
    answer with no guest and a GUEST question's answer with its guest. Every answer carries its
    booking, so both kinds match on the booking first and SQLite reads them from the index on
    (booking_id, guest_id, custom_field_id, value) alone, without visiting the table.
    """
    assert column.custom_field is not None
    field_id = int(column.custom_field.id)
    is_guest_answer = column.custom_field.scope is CustomFieldScope.GUEST
    guest = '= "r"."id"' if is_guest_answer else "IS NULL"
    return (
        f'"{table}"."booking_id" = "r"."booking_id" AND "{table}"."guest_id" {guest} '
        f'AND +"{table}"."custom_field_id" = {field_id}'
    )


def cell(column: Column, layout: CsvLayout, dialect: Dialect) -> str:
    value = column_reference(column.source) if column.source else ""
    match column.kind:
        case CellKind.TEXT:
            expression = neutralised(value)
        case CellKind.CODE | CellKind.NUMBER:
            expression = value
        case CellKind.PHONE:
            expression = neutralised_unless(value, is_phone(value, dialect))
        case CellKind.TIMESTAMP:
            expression = timestamp_cell(column, layout, dialect)
        case CellKind.DECIMAL:
            expression = decimal_cell(value, dialect)
        case CellKind.FLAG:
            expression = f"CASE WHEN {value} THEN 'true' ELSE 'false' END"
        case CellKind.ANSWER:
            answer = answer_value(column, dialect)
            expression = (
                neutralised_unless(answer, is_decimal_number(answer, dialect))
                if column.is_number_answer
                else neutralised(answer)
            )
        case CellKind.ROLES:
            expression = roles_cell(value, dialect)
    if column.seller_only:
        seller = column_reference("booking__seller_id")
        expression = f"CASE WHEN {seller} = {int(layout.organization_id)} THEN {expression} END"
    if dialect == "postgres" and column.kind in TEXT_KINDS:
        # COPY writes an empty string as "" to tell it from NULL; the file has empty cells.
        expression = f"NULLIF({expression}, '')"
    return expression


TEXT_KINDS = {CellKind.TEXT, CellKind.PHONE, CellKind.ANSWER, CellKind.ROLES}


def decimal_cell(value: str, dialect: Dialect) -> str:
    if dialect == "postgres":
        return f"{value}::text"
    # SQLite keeps the decimal as the text it was given; show two places as Decimal.quantize does.
    return f"CASE WHEN {value} GLOB '*.[0-9][0-9]' THEN {value} ELSE printf('%.2f', {value}) END"


def roles_cell(user_id: str, dialect: Dialect) -> str:
    if dialect == "postgres":
        return (
            f"(SELECT string_agg(role, ' ' ORDER BY role) FROM user_role WHERE user_id = {user_id})"
        )
    return (
        "(SELECT group_concat(role, ' ') FROM "
        f"(SELECT role FROM user_role WHERE user_id = {user_id} ORDER BY role))"
    )


def _order_by(source: SourceQuery) -> str:
    return ", ".join(column_reference(name) for name in source.order)


def _answer_columns(layout: CsvLayout) -> list[Column]:
    return [column for column in layout.columns if column.kind is CellKind.ANSWER]


def postgres_statement(layout: CsvLayout, source: SourceQuery) -> str:
    cells = ",\n  ".join(cell(column, layout, "postgres") for column in layout.columns)
    answers = _answer_columns(layout)
    lateral = ""
    if answers:
        # One index lookup by booking finds the booking's answers and those of its guests.
        picks = ", ".join(
            f'max("a"."value") FILTER (WHERE {answer_condition(column, "a")}) '
            f'AS "{answer_alias(column)}"'
            for column in answers
        )
        lateral = (
            f"\nLEFT JOIN LATERAL (SELECT {picks} "
            'FROM "custom_field_answer" AS "a" WHERE "a"."booking_id" = "r"."booking_id") '
            'AS "answers" ON true'
        )
    return f'SELECT\n  {cells}\nFROM ({source.sql}) AS "r"{lateral}\nORDER BY {_order_by(source)}'


def _sqlite_answer(column: Column) -> str:
    # The unary + in the condition keeps SQLite from using the index on custom_field_id, which
    # matches a large share of all answers, where the guest or booking index matches a few.
    condition = answer_condition(column, "a")
    return (
        f'(SELECT "a"."value" FROM "custom_field_answer" AS "a" WHERE {condition}) '
        f'AS "{answer_alias(column)}"'
    )


def sqlite_statement(layout: CsvLayout, source: SourceQuery) -> str:
    # The inner SELECT computes each answer and epoch once per row. Its OFFSET keeps SQLite
    # from flattening it into the outer one, which would repeat those expressions per use.
    extras = [
        f'{sqlite_epoch(column_reference(column.source))} AS "{epoch_alias(column.source)}"'
        for column in layout.columns
        if column.kind is CellKind.TIMESTAMP
    ]
    extras += [_sqlite_answer(column) for column in _answer_columns(layout)]
    inner_columns = ", ".join(['"r".*', *extras])
    inner = (
        f'SELECT {inner_columns} FROM ({source.sql}) AS "r" '
        f"ORDER BY {_order_by(source)} LIMIT -1 OFFSET 0"
    )
    cells = ",\n  ".join(cell(column, layout, "sqlite") for column in layout.columns)
    return f'SELECT\n  {cells}\nFROM ({inner}) AS "r"'


def export_statement(layout: CsvLayout, source: SourceQuery, dialect: Dialect) -> str:
    if dialect == "postgres":
        return postgres_statement(layout, source)
    return sqlite_statement(layout, source)
