"""Copy each booking's trip date onto the booking, kept exact by triggers, and index it.

A guests page sorted by booking date over a range of trip dates had no index holding both dates:
the trip date is the departure's `starts_on`, the booking date the booking's `created_at`. SQLite
read and sorted every guest of the range to return one page, 28,317 guests for a week on a
million. With `booking.trip_starts_on` and the index (trip_starts_on, created_at, id), the page
is chosen per trip date in booking-date order and the days' pages merged
(models/queries/guests.py), so it reads about one page of guests per day of the range.

Triggers keep the copy equal to the departure's `starts_on`, as those of 0005 keep the tallies,
so it holds whatever writes the rows: the API, `tourdesk seed`, SQL run by hand.

- Inserting a booking, or changing its departure or the copy itself, sets the copy from the
  departure. On PostgreSQL a BEFORE trigger sets it in the row, reading the departure FOR SHARE:
  a booking inserted while another transaction reschedules its departure waits for it and gets
  the new date, and a reschedule waits for the booking. SQLite cannot change the row in a BEFORE
  trigger, so an AFTER trigger updates the row when the copy differs; the column is therefore
  nullable on both backends.
- Rescheduling a departure (a new `starts_on`) updates the copy of its bookings.

The migration adds the column, creates the departure's trigger, fills the column, creates the
booking's triggers and builds the index. On PostgreSQL adding the column locks booking, and
creating the departure's trigger locks departure, against writes until the migration commits, so
no write falls between the backfill and the triggers. The booking's triggers come after the
backfill so that it does not run them for every booking.
"""

import importlib

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

RunStatements = importlib.import_module("models.migrations.0005_booking_tallies").RunStatements

BACKFILL = (
    "UPDATE booking SET trip_starts_on = departure.starts_on FROM departure "
    "WHERE departure.id = booking.departure_id"
)

# ----------------------------------------------------------------------------------------------
# SQLite

SQLITE_TRIP_DATE = "(SELECT starts_on FROM departure WHERE id = NEW.departure_id)"
SQLITE_SET_TRIP_DATE = (
    f"UPDATE booking SET trip_starts_on = {SQLITE_TRIP_DATE} WHERE id = NEW.id"
)
SQLITE_TRIP_DATE_DIFFERS = f"NEW.trip_starts_on IS NOT {SQLITE_TRIP_DATE}"

SQLITE_DEPARTURE_TRIGGERS = {
    "trip_date_departure_moved": (
        "AFTER UPDATE OF starts_on ON departure WHEN OLD.starts_on IS NOT NEW.starts_on",
        "UPDATE booking SET trip_starts_on = NEW.starts_on "
        "WHERE departure_id = NEW.id AND trip_starts_on IS NOT NEW.starts_on",
    ),
}
SQLITE_BOOKING_TRIGGERS = {
    "trip_date_booking_insert": (
        f"AFTER INSERT ON booking WHEN {SQLITE_TRIP_DATE_DIFFERS}",
        SQLITE_SET_TRIP_DATE,
    ),
    # Also on a change of the copy itself, so that a write of another date is undone.
    "trip_date_booking_update": (
        "AFTER UPDATE OF departure_id, trip_starts_on ON booking "
        f"WHEN {SQLITE_TRIP_DATE_DIFFERS}",
        SQLITE_SET_TRIP_DATE,
    ),
}


def _sqlite_triggers(triggers: dict[str, tuple[str, str]]) -> list[str]:
    return [
        f"CREATE TRIGGER {name} {event}\nBEGIN\n    {statement};\nEND"
        for name, (event, statement) in triggers.items()
    ]


def _sqlite_drops(triggers: dict[str, tuple[str, str]]) -> list[str]:
    return [f"DROP TRIGGER {name}" for name in triggers]


# ----------------------------------------------------------------------------------------------
# PostgreSQL

POSTGRES_DEPARTURE_TRIGGER = [
    """CREATE FUNCTION trip_date_departure_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE booking SET trip_starts_on = NEW.starts_on
    WHERE departure_id = NEW.id AND trip_starts_on IS DISTINCT FROM NEW.starts_on;
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER trip_date_departure_moved AFTER UPDATE OF starts_on ON departure "
    "FOR EACH ROW WHEN (OLD.starts_on IS DISTINCT FROM NEW.starts_on) "
    "EXECUTE FUNCTION trip_date_departure_moved()",
]
POSTGRES_BOOKING_TRIGGER = [
    """CREATE FUNCTION trip_date_booking() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT starts_on INTO NEW.trip_starts_on FROM departure WHERE id = NEW.departure_id
    FOR SHARE;
    RETURN NEW;
END
$$""",
    "CREATE TRIGGER trip_date_booking BEFORE INSERT OR UPDATE OF departure_id, trip_starts_on "
    "ON booking FOR EACH ROW EXECUTE FUNCTION trip_date_booking()",
]
POSTGRES_DROP_DEPARTURE_TRIGGER = [
    "DROP TRIGGER trip_date_departure_moved ON departure",
    "DROP FUNCTION trip_date_departure_moved()",
]
POSTGRES_DROP_BOOKING_TRIGGER = [
    "DROP TRIGGER trip_date_booking ON booking",
    "DROP FUNCTION trip_date_booking()",
]


class Migration(migrations.Migration):
    dependencies = [('models', '0007_statement_tally_triggers')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Booking',
            name='trip_starts_on',
            field=fields.DateField(null=True),
        ),
        RunStatements(
            {
                "sqlite": _sqlite_triggers(SQLITE_DEPARTURE_TRIGGERS),
                "postgres": POSTGRES_DEPARTURE_TRIGGER,
            },
            reverse_sql={
                "sqlite": _sqlite_drops(SQLITE_DEPARTURE_TRIGGERS),
                "postgres": POSTGRES_DROP_DEPARTURE_TRIGGER,
            },
        ),
        RunStatements(
            {"sqlite": [BACKFILL], "postgres": [BACKFILL]},
            reverse_sql={"sqlite": [], "postgres": []},
        ),
        RunStatements(
            {
                "sqlite": _sqlite_triggers(SQLITE_BOOKING_TRIGGERS),
                "postgres": POSTGRES_BOOKING_TRIGGER,
            },
            reverse_sql={
                "sqlite": _sqlite_drops(SQLITE_BOOKING_TRIGGERS),
                "postgres": POSTGRES_DROP_BOOKING_TRIGGER,
            },
        ),
        ops.AddIndex(
            model_name='Booking',
            index=Index(fields=['trip_starts_on', 'created_at', 'id']),
        ),
    ]
