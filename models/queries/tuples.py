"""Run a Tortoise `values_list` query and convert only the columns whose values need it.

Tortoise converts every value of every row through a function, even the identity for the types
the database driver already returns (text, integers, decimals, and on PostgreSQL dates and
booleans too). On PostgreSQL a page of 100 bookings and their guests makes some 5,000 calls for
about 1,100 conversions that change anything. This reads the same statement and applies the same
conversions, column by column, only where Tortoise's own would change the value.
"""

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from tortoise.fields import DateField, DatetimeField
from tortoise.queryset import ValuesListQuery

Conversions = tuple[tuple[int, Callable[[Any], Any]], ...]

# Tortoise returns lambdas defined in this method for the columns that need no conversion.
_IDENTITY_QUALNAME = "FieldSelectQuery.resolve_to_python_value.<locals>.<lambda>"

# The conversions of each query shape: the model, its selected fields and the database dialect.
_conversions: dict[tuple[Any, ...], Conversions] = {}


# The SQL text of each query that `fetch_tuples_where_in` runs, by its builder, the dialect and the
# number of values.
_statements: dict[tuple[Any, ...], str] = {}


async def fetch_tuples(query: ValuesListQuery[Any]) -> list[Sequence[Any]]:
    """Return the rows of `query` as Tortoise's `await query` would, as indexable sequences."""
    database = _database_of(query)
    query._make_query()
    sql, parameters = query.query.get_parameterized_sql()
    return await _run(query, database, sql, parameters)


async def fetch_tuples_where_in(
    build: Callable[[list[Any]], ValuesListQuery[Any]], values: list[Any]
) -> list[Sequence[Any]]:
    """Run the query `build(values)`, whose only parameters are `values`, as `fetch_tuples` does.

    The SQL text depends only on how many values there are, so it is built once for each number.
    Tortoise formats every value into the text it builds, which for the guests of 100 bookings
    took about 2% of the page's CPU time.
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
                f"fetch_tuples_where_in needs a query whose parameters are its values only; "
                f"{build.__qualname__} made {parameters!r} of {values!r}."
            )
        _statements[key] = sql
    return await _run(query, database, sql, values)


def _database_of(query: ValuesListQuery[Any]) -> Any:
    # Chosen for every query: inside a transaction the task has its own client.
    query._choose_db_if_not_chosen()
    assert query._db is not None, "_choose_db_if_not_chosen sets the client"
    return query._db


async def _run(
    query: ValuesListQuery[Any], database: Any, sql: str, parameters: Sequence[Any]
) -> list[Sequence[Any]]:
    _, records = await database.execute_query(sql, list(parameters))
    conversions = _conversions_of(query, database.capabilities.dialect)
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
    """Parse SQLite's date and timestamp text with the standard library before Tortoise does.

    Tortoise parses it with the iso8601 package, which took about a seventh of the server's CPU
    time in a profile of a SQLite page of bookings. `fromisoformat` reads the same text in C.
    Tortoise's own conversion still runs on the result and sets the time zone as before.
    """
    field = getattr(convert, "__self__", None)
    if isinstance(field, DatetimeField):
        parse: Callable[[str], Any] = datetime.fromisoformat
    elif isinstance(field, DateField):
        parse = date.fromisoformat
    else:
        return convert

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
