"""Tally bookings and guests per trip date, seller and status, kept exact by triggers.

Two tallies: per activity, and per supplier for all its activities. The counts of the guests and
bookings lists add up their rows rather than read one row per guest (models/queries/tally.py).

Triggers on guest, booking, departure and activity change the tallies in the same statement as
the rows, so they stay exact whatever writes them: the API, `tourdesk seed`, foreign-key
cascades and SQL run by hand. Code in the write paths would miss the last three, and a count
would stay wrong from then on.

- Adding goes through an upsert that adds to the stored numbers (`guests = guests + n`), so
  concurrent writers on PostgreSQL queue on the row and none of them loses an update.
- Taking away only updates a row that exists. A row is missing only when its activity or
  organization was deleted, which deletes its tally rows too (ON DELETE CASCADE), and a new row
  for them would break the foreign key.
- A booking's guests are taken away BEFORE the booking is deleted. Its guests go with it through
  ON DELETE CASCADE once it is gone, and their own trigger then finds no booking to count for.
- On PostgreSQL the triggers read a guest's booking, and a booking's departure and activity, FOR
  SHARE. A guest added while another transaction cancels or moves the booking then waits for
  it and is counted under the booking's new status or date.

The trigger statements differ between SQLite and PostgreSQL, so one operation takes a list of
statements per dialect. It runs each statement whole, because Tortoise's SQLite editor splits
SQL on ";", which would cut the trigger bodies apart.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import BookingStatus

# Each tally: its table, its column beside the trip date, and that column's value for a
# departure `d` of activity `a`.
TALLIES = (
    ("activity_tally", "activity_id", "d.activity_id"),
    ("supplier_tally", "supplier_id", "a.organization_id"),
)
DEPARTURE = "departure AS d JOIN activity AS a ON a.id = d.activity_id"
# A booking `b` with its departure and activity.
BOOKING = (
    "booking AS b JOIN departure AS d ON d.id = b.departure_id "
    "JOIN activity AS a ON a.id = d.activity_id"
)

BACKFILL = [
    """INSERT INTO activity_tally (activity_id, starts_on, seller_id, status, bookings, guests)
SELECT d.activity_id, d.starts_on, b.seller_id, b.status, COUNT(*), COALESCE(SUM(g.guests), 0)
FROM booking AS b
JOIN departure AS d ON d.id = b.departure_id
LEFT JOIN (SELECT booking_id, COUNT(*) AS guests FROM guest GROUP BY booking_id) AS g
    ON g.booking_id = b.id
GROUP BY d.activity_id, d.starts_on, b.seller_id, b.status""",
    """INSERT INTO supplier_tally (supplier_id, starts_on, seller_id, status, bookings, guests)
SELECT a.organization_id, t.starts_on, t.seller_id, t.status, SUM(t.bookings), SUM(t.guests)
FROM activity_tally AS t
JOIN activity AS a ON a.id = t.activity_id
GROUP BY a.organization_id, t.starts_on, t.seller_id, t.status""",
]


# ----------------------------------------------------------------------------------------------
# SQLite: no functions, so each trigger spells out its statements, once per tally.


def _sqlite_add(table: str, column: str, select: str) -> str:
    """Add the (key, date, seller, status, bookings, guests) rows that `select` returns."""
    return (
        f"INSERT INTO {table} ({column}, starts_on, seller_id, status, bookings, guests) "
        f"{select} ON CONFLICT ({column}, starts_on, seller_id, status) DO UPDATE SET "
        "bookings = bookings + excluded.bookings, guests = guests + excluded.guests"
    )


def _sqlite_take(table: str, bookings: str, guests: str, source: str, match: str) -> str:
    """Take bookings and guests away from the existing row that `match` finds over `source`."""
    return (
        f"UPDATE {table} SET bookings = {table}.bookings - ({bookings}), "
        f"guests = {table}.guests - ({guests}) FROM {source} WHERE {match}"
    )


def _sqlite_key(table: str, column: str, value: str, seller: str, status: str) -> str:
    return (
        f"{table}.{column} = {value} AND {table}.starts_on = d.starts_on "
        f"AND {table}.seller_id = {seller} AND {table}.status = {status}"
    )


def _sqlite_guest_added(booking_id: str) -> list[str]:
    return [
        _sqlite_add(
            table,
            column,
            f"SELECT {value}, d.starts_on, b.seller_id, b.status, 0, 1 FROM {BOOKING} "
            f"WHERE b.id = {booking_id}",
        )
        for table, column, value in TALLIES
    ]


def _sqlite_guest_taken(booking_id: str) -> list[str]:
    return [
        _sqlite_take(
            table,
            "0",
            "1",
            BOOKING,
            f"b.id = {booking_id} AND "
            + _sqlite_key(table, column, value, "b.seller_id", "b.status"),
        )
        for table, column, value in TALLIES
    ]


def _sqlite_guests_of(row: str) -> str:
    return f"(SELECT COUNT(*) FROM guest WHERE booking_id = {row}.id)"


def _sqlite_booking_added(row: str) -> list[str]:
    return [
        _sqlite_add(
            table,
            column,
            f"SELECT {value}, d.starts_on, {row}.seller_id, {row}.status, 1, "
            f"{_sqlite_guests_of(row)} FROM {DEPARTURE} WHERE d.id = {row}.departure_id",
        )
        for table, column, value in TALLIES
    ]


def _sqlite_booking_taken(row: str) -> list[str]:
    return [
        _sqlite_take(
            table,
            "1",
            _sqlite_guests_of(row),
            DEPARTURE,
            f"d.id = {row}.departure_id AND "
            + _sqlite_key(table, column, value, f"{row}.seller_id", f"{row}.status"),
        )
        for table, column, value in TALLIES
    ]


# The bookings and guests of departure NEW.id, per seller and status.
SQLITE_SOLD_ON_DEPARTURE = (
    "(SELECT b.seller_id, b.status, COUNT(*) AS bookings, "
    "SUM((SELECT COUNT(*) FROM guest WHERE booking_id = b.id)) AS guests "
    "FROM booking AS b WHERE b.departure_id = NEW.id GROUP BY b.seller_id, b.status) AS sold"
)


def _sqlite_departure_moved() -> list[str]:
    statements = []
    for table, column, _ in TALLIES:
        old, new = "OLD.activity_id", "NEW.activity_id"
        if column == "supplier_id":
            old = "(SELECT organization_id FROM activity WHERE id = OLD.activity_id)"
            new = "(SELECT organization_id FROM activity WHERE id = NEW.activity_id)"
        statements.append(
            _sqlite_take(
                table,
                "sold.bookings",
                "sold.guests",
                SQLITE_SOLD_ON_DEPARTURE,
                f"{table}.{column} = {old} AND {table}.starts_on = OLD.starts_on "
                f"AND {table}.seller_id = sold.seller_id AND {table}.status = sold.status",
            )
        )
        statements.append(
            _sqlite_add(
                table,
                column,
                f"SELECT {new}, NEW.starts_on, sold.seller_id, sold.status, sold.bookings, "
                f"sold.guests FROM {SQLITE_SOLD_ON_DEPARTURE} WHERE true",
            )
        )
    return statements


# The activity tally of activity NEW.id, per trip date, seller and status.
SQLITE_TALLY_OF_ACTIVITY = (
    "(SELECT starts_on, seller_id, status, SUM(bookings) AS bookings, SUM(guests) AS guests "
    "FROM activity_tally WHERE activity_id = NEW.id GROUP BY starts_on, seller_id, status) "
    "AS moved"
)

SQLITE_ACTIVITY_MOVED = [
    _sqlite_take(
        "supplier_tally",
        "moved.bookings",
        "moved.guests",
        SQLITE_TALLY_OF_ACTIVITY,
        "supplier_tally.supplier_id = OLD.organization_id "
        "AND supplier_tally.starts_on = moved.starts_on "
        "AND supplier_tally.seller_id = moved.seller_id AND supplier_tally.status = moved.status",
    ),
    _sqlite_add(
        "supplier_tally",
        "supplier_id",
        "SELECT NEW.organization_id, moved.starts_on, moved.seller_id, moved.status, "
        f"moved.bookings, moved.guests FROM {SQLITE_TALLY_OF_ACTIVITY} WHERE true",
    ),
]

BOOKING_CHANGED = (
    "OLD.departure_id IS NOT NEW.departure_id OR OLD.seller_id IS NOT NEW.seller_id "
    "OR OLD.status IS NOT NEW.status"
)


def _sqlite_trigger(name: str, event: str, statements: list[str]) -> str:
    body = "".join(f"    {statement};\n" for statement in statements)
    return f"CREATE TRIGGER {name} {event}\nBEGIN\n{body}END"


SQLITE_TRIGGERS = {
    "tally_guest_insert": (
        "AFTER INSERT ON guest",
        _sqlite_guest_added("NEW.booking_id"),
    ),
    "tally_guest_delete": (
        "AFTER DELETE ON guest",
        _sqlite_guest_taken("OLD.booking_id"),
    ),
    "tally_guest_move": (
        "AFTER UPDATE OF booking_id ON guest WHEN OLD.booking_id IS NOT NEW.booking_id",
        _sqlite_guest_taken("OLD.booking_id") + _sqlite_guest_added("NEW.booking_id"),
    ),
    "tally_booking_insert": (
        "AFTER INSERT ON booking",
        _sqlite_booking_added("NEW"),
    ),
    "tally_booking_update": (
        f"AFTER UPDATE OF departure_id, seller_id, status ON booking WHEN {BOOKING_CHANGED}",
        _sqlite_booking_taken("OLD") + _sqlite_booking_added("NEW"),
    ),
    "tally_booking_delete": (
        "BEFORE DELETE ON booking",
        _sqlite_booking_taken("OLD"),
    ),
    "tally_departure_move": (
        "AFTER UPDATE OF activity_id, starts_on ON departure "
        "WHEN OLD.activity_id IS NOT NEW.activity_id OR OLD.starts_on IS NOT NEW.starts_on",
        _sqlite_departure_moved(),
    ),
    "tally_activity_move": (
        "AFTER UPDATE OF organization_id ON activity "
        "WHEN OLD.organization_id IS NOT NEW.organization_id",
        SQLITE_ACTIVITY_MOVED,
    ),
}


# ----------------------------------------------------------------------------------------------
# PostgreSQL: a function per tally changes one of its rows, the trigger functions say by how much.


def _postgres_change(table: str, column: str) -> str:
    return f"""CREATE FUNCTION {table}_change(
    tally_key integer, tally_starts_on date, tally_seller_id integer, tally_status varchar,
    added_bookings integer, added_guests integer
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF added_bookings < 0 OR added_guests < 0 THEN
        UPDATE {table}
        SET bookings = bookings + added_bookings, guests = guests + added_guests
        WHERE {column} = tally_key AND starts_on = tally_starts_on
            AND seller_id = tally_seller_id AND status = tally_status;
    ELSIF added_bookings > 0 OR added_guests > 0 THEN
        INSERT INTO {table} AS tally ({column}, starts_on, seller_id, status, bookings, guests)
        VALUES (tally_key, tally_starts_on, tally_seller_id, tally_status,
            added_bookings, added_guests)
        ON CONFLICT ({column}, starts_on, seller_id, status) DO UPDATE
        SET bookings = tally.bookings + EXCLUDED.bookings, guests = tally.guests + EXCLUDED.guests;
    END IF;
END
$$"""


POSTGRES_FUNCTIONS = [
    _postgres_change("activity_tally", "activity_id"),
    _postgres_change("supplier_tally", "supplier_id"),
    """CREATE FUNCTION tally_change_booking(
    booking_departure_id integer, booking_seller_id integer, booking_status varchar,
    added_bookings integer, added_guests integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    trip record;
BEGIN
    SELECT d.activity_id, a.organization_id, d.starts_on INTO trip
    FROM departure AS d JOIN activity AS a ON a.id = d.activity_id
    WHERE d.id = booking_departure_id
    FOR SHARE;
    IF FOUND THEN
        PERFORM activity_tally_change(trip.activity_id, trip.starts_on, booking_seller_id,
            booking_status, added_bookings, added_guests);
        PERFORM supplier_tally_change(trip.organization_id, trip.starts_on, booking_seller_id,
            booking_status, added_bookings, added_guests);
    END IF;
END
$$""",
    """CREATE FUNCTION tally_count_guest() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    sold record;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT departure_id, seller_id, status INTO sold FROM booking WHERE id = OLD.booking_id
        FOR SHARE;
        IF FOUND THEN
            PERFORM tally_change_booking(sold.departure_id, sold.seller_id, sold.status, 0, -1);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT departure_id, seller_id, status INTO sold FROM booking WHERE id = NEW.booking_id
        FOR SHARE;
        IF FOUND THEN
            PERFORM tally_change_booking(sold.departure_id, sold.seller_id, sold.status, 0, 1);
        END IF;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE FUNCTION tally_count_booking() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    guest_count integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT COUNT(*) INTO guest_count FROM guest WHERE booking_id = OLD.id;
        PERFORM tally_change_booking(OLD.departure_id, OLD.seller_id, OLD.status,
            -1, -guest_count);
        RETURN OLD;
    END IF;
    SELECT COUNT(*) INTO guest_count FROM guest WHERE booking_id = NEW.id;
    IF TG_OP = 'UPDATE' THEN
        PERFORM tally_change_booking(OLD.departure_id, OLD.seller_id, OLD.status,
            -1, -guest_count);
    END IF;
    PERFORM tally_change_booking(NEW.departure_id, NEW.seller_id, NEW.status, 1, guest_count);
    RETURN NULL;
END
$$""",
    """CREATE FUNCTION tally_move_departure() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_supplier integer;
    new_supplier integer;
    sold record;
BEGIN
    SELECT organization_id INTO old_supplier FROM activity WHERE id = OLD.activity_id;
    SELECT organization_id INTO new_supplier FROM activity WHERE id = NEW.activity_id FOR SHARE;
    FOR sold IN
        SELECT b.seller_id, b.status, COUNT(DISTINCT b.id)::integer AS bookings,
            COUNT(g.id)::integer AS guests
        FROM booking AS b LEFT JOIN guest AS g ON g.booking_id = b.id
        WHERE b.departure_id = NEW.id
        GROUP BY b.seller_id, b.status
        ORDER BY b.seller_id, b.status
    LOOP
        PERFORM activity_tally_change(OLD.activity_id, OLD.starts_on, sold.seller_id,
            sold.status, -sold.bookings, -sold.guests);
        PERFORM activity_tally_change(NEW.activity_id, NEW.starts_on, sold.seller_id,
            sold.status, sold.bookings, sold.guests);
        PERFORM supplier_tally_change(old_supplier, OLD.starts_on, sold.seller_id,
            sold.status, -sold.bookings, -sold.guests);
        PERFORM supplier_tally_change(new_supplier, NEW.starts_on, sold.seller_id,
            sold.status, sold.bookings, sold.guests);
    END LOOP;
    RETURN NULL;
END
$$""",
    """CREATE FUNCTION tally_move_activity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved record;
BEGIN
    FOR moved IN
        SELECT starts_on, seller_id, status, SUM(bookings)::integer AS bookings,
            SUM(guests)::integer AS guests
        FROM activity_tally WHERE activity_id = NEW.id
        GROUP BY starts_on, seller_id, status
        ORDER BY starts_on, seller_id, status
    LOOP
        PERFORM supplier_tally_change(OLD.organization_id, moved.starts_on, moved.seller_id,
            moved.status, -moved.bookings, -moved.guests);
        PERFORM supplier_tally_change(NEW.organization_id, moved.starts_on, moved.seller_id,
            moved.status, moved.bookings, moved.guests);
    END LOOP;
    RETURN NULL;
END
$$""",
]

POSTGRES_TRIGGERS = {
    "tally_guest": (
        "guest",
        "AFTER INSERT OR DELETE ON guest FOR EACH ROW EXECUTE FUNCTION tally_count_guest()",
    ),
    "tally_guest_move": (
        "guest",
        "AFTER UPDATE OF booking_id ON guest FOR EACH ROW "
        "WHEN (OLD.booking_id IS DISTINCT FROM NEW.booking_id) "
        "EXECUTE FUNCTION tally_count_guest()",
    ),
    "tally_booking_insert": (
        "booking",
        "AFTER INSERT ON booking FOR EACH ROW EXECUTE FUNCTION tally_count_booking()",
    ),
    "tally_booking_update": (
        "booking",
        "AFTER UPDATE OF departure_id, seller_id, status ON booking FOR EACH ROW "
        "WHEN (OLD.departure_id IS DISTINCT FROM NEW.departure_id "
        "OR OLD.seller_id IS DISTINCT FROM NEW.seller_id "
        "OR OLD.status IS DISTINCT FROM NEW.status) "
        "EXECUTE FUNCTION tally_count_booking()",
    ),
    "tally_booking_delete": (
        "booking",
        "BEFORE DELETE ON booking FOR EACH ROW EXECUTE FUNCTION tally_count_booking()",
    ),
    "tally_departure_move": (
        "departure",
        "AFTER UPDATE OF activity_id, starts_on ON departure FOR EACH ROW "
        "WHEN (OLD.activity_id IS DISTINCT FROM NEW.activity_id "
        "OR OLD.starts_on IS DISTINCT FROM NEW.starts_on) "
        "EXECUTE FUNCTION tally_move_departure()",
    ),
    "tally_activity_move": (
        "activity",
        "AFTER UPDATE OF organization_id ON activity FOR EACH ROW "
        "WHEN (OLD.organization_id IS DISTINCT FROM NEW.organization_id) "
        "EXECUTE FUNCTION tally_move_activity()",
    ),
}

POSTGRES_FUNCTION_SIGNATURES = [
    "tally_move_activity()",
    "tally_move_departure()",
    "tally_count_booking()",
    "tally_count_guest()",
    "tally_change_booking(integer, integer, varchar, integer, integer)",
    "supplier_tally_change(integer, date, integer, varchar, integer, integer)",
    "activity_tally_change(integer, date, integer, varchar, integer, integer)",
]

CREATE_TRIGGERS = {
    "sqlite": [
        _sqlite_trigger(name, event, statements)
        for name, (event, statements) in SQLITE_TRIGGERS.items()
    ],
    "postgres": POSTGRES_FUNCTIONS
    + [f"CREATE TRIGGER {name} {definition}" for name, (_, definition) in POSTGRES_TRIGGERS.items()],
}
DROP_TRIGGERS = {
    "sqlite": [f"DROP TRIGGER {name}" for name in SQLITE_TRIGGERS],
    "postgres": [f"DROP TRIGGER {name} ON {table}" for name, (table, _) in POSTGRES_TRIGGERS.items()]
    + [f"DROP FUNCTION {signature}" for signature in POSTGRES_FUNCTION_SIGNATURES],
}


class RunStatements(ops.RunSQL):
    """Run each statement of the connection's dialect whole, in the migration's transaction."""

    def __init__(self, sql: dict[str, list[str]], reverse_sql: dict[str, list[str]]) -> None:
        super().__init__(sql, reverse_sql=reverse_sql)

    async def _run_sql(self, state_editor: Any, sqls: Any) -> None:
        dialect = state_editor.client.capabilities.dialect
        if dialect not in sqls:
            raise NotImplementedError(
                f"The tally triggers exist for {' and '.join(sorted(sqls))}, not for {dialect}."
            )
        for statement in sqls[dialect]:
            if state_editor.collect_sql:
                state_editor.collected_sql.append(statement)
            else:
                await state_editor.client.execute_query(statement)


class Migration(migrations.Migration):
    dependencies = [('models', '0004_custom_field_answer_covering_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActivityTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='tallies', on_delete=OnDelete.CASCADE)),
                ('starts_on', fields.DateField()),
                ('seller', fields.ForeignKeyField('models.Organization', source_field='seller_id', db_constraint=True, to_field='id', related_name='activity_tallies', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nCONFIRMED: CONFIRMED\nCANCELLED: CANCELLED', enum_type=BookingStatus, max_length=16)),
                ('bookings', fields.IntField(default=0)),
                ('guests', fields.IntField(default=0)),
            ],
            options={'table': 'activity_tally', 'app': 'models', 'unique_together': (('activity', 'starts_on', 'seller', 'status'),), 'indexes': [Index(fields=['starts_on', 'seller_id', 'status', 'activity_id', 'guests', 'bookings'])], 'pk_attr': 'id', 'table_description': 'Bookings and guests that one seller has in one status on one activity and trip date.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SupplierTally',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('supplier', fields.ForeignKeyField('models.Organization', source_field='supplier_id', db_constraint=True, to_field='id', related_name='supplier_tallies', on_delete=OnDelete.CASCADE)),
                ('starts_on', fields.DateField()),
                ('seller', fields.ForeignKeyField('models.Organization', source_field='seller_id', db_constraint=True, to_field='id', related_name='seller_tallies', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nCONFIRMED: CONFIRMED\nCANCELLED: CANCELLED', enum_type=BookingStatus, max_length=16)),
                ('bookings', fields.IntField(default=0)),
                ('guests', fields.IntField(default=0)),
            ],
            options={'table': 'supplier_tally', 'app': 'models', 'unique_together': (('supplier', 'starts_on', 'seller', 'status'),), 'indexes': [Index(fields=['starts_on', 'seller_id', 'status', 'supplier_id', 'guests', 'bookings'])], 'pk_attr': 'id', 'table_description': "Bookings and guests that one seller has in one status on one trip date of one supplier."},
            bases=['Model'],
        ),
        # The triggers come before the backfill: on PostgreSQL creating them locks guest,
        # booking, departure and activity against writes until the migration commits, so no
        # write falls between the backfill and the triggers.
        RunStatements(CREATE_TRIGGERS, reverse_sql=DROP_TRIGGERS),
        RunStatements(
            {"sqlite": BACKFILL, "postgres": BACKFILL}, reverse_sql={"sqlite": [], "postgres": []}
        ),
    ]
