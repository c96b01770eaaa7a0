"""Run a Tortoise `values_list` query and convert only the columns whose values need it.

Tortoise converts every value of every row through a function, even the identity for the types
the database driver already returns (text, integers, decimals, and on PostgreSQL dates and
booleans too). On PostgreSQL a page of 100 bookings and their guests makes some 5,000 calls for
about 1,100 conversions that change anything. This reads the same statement and applies the same
conversions, column by column, only where Tortoise's own would change the value.
"""

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from tortoise.expressions import Subquery
from tortoise.fields import DateField, DatetimeField
from tortoise.fields.data import CharEnumFieldInstance, IntEnumFieldInstance
from tortoise.queryset import QuerySet, ValuesListQuery, ValuesQuery
from tortoise.timezone import get_default_timezone, get_use_tz

Conversions = tuple[tuple[int, Callable[[Any], Any]], ...]

# Tortoise returns lambdas defined in this method for the columns that need no conversion.
_IDENTITY_QUALNAME = "FieldSelectQuery.resolve_to_python_value.<locals>.<lambda>"

# The conversions of each query shape: the model, its selected fields and the database dialect.
_conversions: dict[tuple[Any, ...], Conversions] = {}


# The SQL text of each query that `fetch_tuples_of` runs, by its builder, the dialect and the
# number of values.
_statements: dict[tuple[Any, ...], str] = {}

# The SQL text and conversions of each statement that `fetch_by_shape` runs, by the dialect and
# the shape its caller names, the least recently used first. Each combination of the filters a
# list is given makes another shape; past this many, the first is dropped.
SHAPED_STATEMENTS_KEPT = 1000
_shaped_statements: OrderedDict[tuple[Any, ...], tuple[str, Conversions]] = OrderedDict()


async def fetch_tuples(query: ValuesListQuery[Any]) -> list[Sequence[Any]]:
    """Return the rows of `query` as Tortoise's `await query` would, as indexable sequences."""
    database = _database_of(query)
    query._make_query()
    sql, parameters = query.query.get_parameterized_sql()
    return await _run(query, database, sql, parameters)


async def fetch_tuples_of(
    build: Callable[[list[Any]], ValuesListQuery[Any]], values: list[Any]
) -> list[Sequence[Any]]:
    """Run the query `build(values)`, whose only parameters are `values`, as `fetch_tuples` does.

    The SQL text depends only on how many values there are, so it is built once for each number.
    Tortoise builds the text of a statement anew for each run. That took about 2% of the CPU
    time of a page of 100 bookings for its guests statement, and most of the time of signing in.
    """
    query = build(values)
    database = _database_of(query)
    key = (build, database.capabilities.dialect, len(values))
    sql = _statements.get(key)
    if sql is None:
        query._make_query()
        sql, parameters = query.query.get_parameterized_sql()
        if list(parameters) != list(values):
            raise ValueError(
                f"fetch_tuples_of needs a query whose parameters are its values only; "
                f"{build.__qualname__} made {parameters!r} of {values!r}."
            )
        _statements[key] = sql
    return await _run(query, database, sql, values)


def _database_of(query: QuerySet[Any] | ValuesQuery[Any] | ValuesListQuery[Any]) -> Any:
    # Chosen for every query: inside a transaction the task has its own client.
    query._choose_db_if_not_chosen()
    assert query._db is not None, "_choose_db_if_not_chosen sets the client"
    return query._db


async def fetch_chosen(
    chooser: QuerySet[Any], columns: Sequence[str], ordering: Sequence[str]
) -> list[Sequence[Any]]:
    """Read `columns` of the rows whose ids `chooser` selects, in `ordering`, as `fetch_tuples`.

    The rows are those of `model.filter(id__in=Subquery(chooser.values("id")))`, ordered and
    read with `values_list(*columns)`. Building the SQL text of that statement, which joins the
    tables of `columns`, took about a tenth of the CPU time of a page of bookings. Only the
    choosing statement changes from page to page, so the text of the whole statement is built
    once for each text of the choosing statement and run again with that statement's parameters.
    """
    ids = chooser.values("id")
    ids._choose_db_if_not_chosen()
    ids._make_query()
    chooser_sql, parameters = ids.query.get_parameterized_sql()

    def build() -> ValuesListQuery[Any]:
        joined: QuerySet[Any] = chooser.model.filter(id__in=Subquery(ids)).order_by(*ordering)
        return joined.values_list(*columns)

    shape = (chooser.model, chooser_sql, *columns, "|", *ordering)
    return await fetch_by_shape(ids, shape, build, list(parameters))


async def fetch_by_shape(
    source: QuerySet[Any] | ValuesQuery[Any],
    shape: tuple[Any, ...],
    build: Callable[[], ValuesListQuery[Any]],
    parameters: list[Any],
) -> list[Sequence[Any]]:
    """Run the query `build()`, whose SQL text `shape` determines, with `parameters`.

    The statement runs on the database of `source`. Besides that database's dialect, `shape`
    must name everything the text depends on, and `parameters` must be the values the text
    takes, in order. The text is built on the first run of a shape and reused, so `build()` runs
    only then. A built query whose parameters differ from `parameters` runs as built, and its
    text is not kept.
    """
    database = _database_of(source)
    key = (database.capabilities.dialect, *shape)
    statement = _shaped_statements.get(key)
    if statement is not None:
        _shaped_statements.move_to_end(key)
        return await _run_with(database, *statement, parameters)

    query = build()
    query._db = database
    query._make_query()
    sql, query_parameters = query.query.get_parameterized_sql()
    conversions = _conversions_of(query, database.capabilities.dialect)
    if list(query_parameters) == list(parameters):
        _shaped_statements[key] = (sql, conversions)
        if len(_shaped_statements) > SHAPED_STATEMENTS_KEPT:
            _shaped_statements.popitem(last=False)
    return await _run_with(database, sql, conversions, query_parameters)


async def _run(
    query: ValuesListQuery[Any], database: Any, sql: str, parameters: Sequence[Any]
) -> list[Sequence[Any]]:
    conversions = _conversions_of(query, database.capabilities.dialect)
    return await _run_with(database, sql, conversions, parameters)


async def _run_with(
    database: Any, sql: str, conversions: Conversions, parameters: Sequence[Any]
) -> list[Sequence[Any]]:
    _, records = await database.execute_query(sql, list(parameters))
    if not conversions:
        return [tuple(record) for record in records]
    rows: list[Sequence[Any]] = []
    for record in records:
        values = list(record)
        for index, convert in conversions:
            values[index] = convert(values[index])
        rows.append(values)
    return rows


def _conversions_of(query: ValuesListQuery[Any], dialect: str) -> Conversions:
    key = (query.model, dialect, *query.fields.items())
    conversions = _conversions.get(key)
    if conversions is None:
        conversions = _conversions[key] = tuple(
            (index, _faster(convert))
            for index, name in enumerate(query.fields.values())
            if (convert := query.resolve_to_python_value(query.model, name)).__qualname__
            != _IDENTITY_QUALNAME
        )
    return conversions


def _faster(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Return a conversion equal to `convert` that skips Tortoise's general steps where it can.

    Tortoise parses SQLite's date and timestamp text with the iso8601 package, which took about a
    seventh of the server's CPU time in a profile of a SQLite page of bookings. `fromisoformat`
    reads the same text in C. Tortoise converts an enum by calling the enum class, and a lookup
    in a dict of the members by value returns the same member about five times faster.
    """
    field = getattr(convert, "__self__", None)
    if isinstance(field, CharEnumFieldInstance | IntEnumFieldInstance):
        return _enum_member(field.enum_type, convert)
    if isinstance(field, DatetimeField):
        return _timestamp(convert)
    if isinstance(field, DateField):
        return _parsed_first(date.fromisoformat, convert)
    return convert


def _enum_member(enum_type: type[Enum], convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    members = {member.value: member for member in enum_type}

    def convert_member(value: Any) -> Any:
        member = members.get(value)
        # Values that are no member's go to Tortoise, which raises as before.
        return convert(value) if member is None else member

    return convert_member


def _timestamp(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Parse timestamp text and move an aware result into Tortoise's time zone, as it would."""
    if not get_use_tz():
        return _parsed_first(datetime.fromisoformat, convert)
    zone = get_default_timezone()

    def convert_timestamp(value: Any) -> Any:
        if value.__class__ is str:
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return convert(value)
        if value.__class__ is datetime and value.utcoffset() is not None:
            return value.astimezone(zone)
        return convert(value)

    return convert_timestamp


def _parsed_first(
    parse: Callable[[str], Any], convert: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    def convert_text(value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = parse(value)
            except ValueError:
                # Text the standard library does not read goes to Tortoise's parser as it is.
                return convert(value)
            return convert(parsed)
        return convert(value)

    return convert_text
