"""Bookings and guests tallied per trip date, so that counting a list does not read every guest.

Database triggers keep both tallies exact on every write to bookings, guests, departures and
activities, in the writing transaction (models/migrations/0005_booking_tallies.py). On PostgreSQL
they count the rows of a statement together and change each tally row once per statement
(models/migrations/0007_statement_tally_triggers.py). In Python only `recount_tallies`, which the
seed calls, writes them. The counts of the guests and bookings lists add up their rows where the
filter allows (models/queries/tally.py).
"""

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from models.catalog import Activity
from models.enums import BookingStatus
from models.organizations import Organization


class ActivityTally(Model):
    """Bookings and guests that one seller has in one status on one activity and trip date."""

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="tallies", on_delete=fields.CASCADE
    )
    activity_id: int
    # The departures' `starts_on`: the trip date in the supplier's time zone.
    starts_on = fields.DateField()
    seller: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="activity_tallies", on_delete=fields.CASCADE
    )
    seller_id: int
    status = fields.CharEnumField(BookingStatus, max_length=16)
    bookings = fields.IntField(default=0)
    guests = fields.IntField(default=0)

    class Meta:
        table = "activity_tally"
        unique_together = (("activity", "starts_on", "seller", "status"),)
        # A count over a range of trip dates reads one range of this index and no table, because
        # the index contains every column the count filters on and adds up.
        indexes = (("starts_on", "seller_id", "status", "activity_id", "guests", "bookings"),)

    def __str__(self) -> str:
        return f"{self.activity_id}@{self.starts_on.isoformat()}:{self.seller_id}:{self.status}"


class SupplierTally(Model):
    """Bookings and guests that one seller has in one status on one trip date of one supplier.

    The sum of the activity tallies of the supplier's activities: a few rows per trip date
    however many activities and departures the supplier runs.
    """

    id = fields.IntField(primary_key=True)
    # The organization whose activities the bookings are on.
    supplier: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="supplier_tallies", on_delete=fields.CASCADE
    )
    supplier_id: int
    starts_on = fields.DateField()
    seller: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="seller_tallies", on_delete=fields.CASCADE
    )
    seller_id: int
    status = fields.CharEnumField(BookingStatus, max_length=16)
    bookings = fields.IntField(default=0)
    guests = fields.IntField(default=0)

    class Meta:
        table = "supplier_tally"
        unique_together = (("supplier", "starts_on", "seller", "status"),)
        indexes = (("starts_on", "seller_id", "status", "supplier_id", "guests", "bookings"),)

    def __str__(self) -> str:
        return f"{self.supplier_id}@{self.starts_on.isoformat()}:{self.seller_id}:{self.status}"


# The tally triggers that fire on inserts into guest and booking on PostgreSQL (migration 0007).
POSTGRES_INSERT_TRIGGERS = (("guest", "tally_guests_added"), ("booking", "tally_bookings_added"))

RECOUNT = (
    "DELETE FROM supplier_tally",
    "DELETE FROM activity_tally",
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
)


async def pause_tallies_for_bulk_insert(connection: BaseDBAsyncClient) -> None:
    """Stop counting inserted guests and bookings, until the transaction ends.

    The seed sends one INSERT per row (Tortoise's `bulk_create` does), so on PostgreSQL the tally
    triggers change tally rows once per row even though they count per statement. With them on,
    `tourdesk seed --bookings 43000` took 145 to 151 s, with them paused 61 to 72 s. Disabling
    them is transactional there, and it locks guest and booking against other writers until the
    transaction ends, so `recount_tallies` must end it. SQLite's triggers cost the seed little
    and stay on.

    NOTE: a bulk writer on PostgreSQL that sends one statement per row should pause them too, or
    send many rows per statement. Within one transaction every update of a tally row walks the
    versions that the earlier updates left. The cost therefore grows with the square of the
    statements that change the same row: 10,000 one-row inserts of guests of one booking took
    86 s, where one INSERT of 330,000 such guests took 5.4 s.
    """
    if connection.capabilities.dialect != "postgres":
        return
    for table, trigger in POSTGRES_INSERT_TRIGGERS:
        await connection.execute_script(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')


async def recount_tallies(connection: BaseDBAsyncClient) -> None:
    """Count both tallies again from the booking and guest rows and turn the paused triggers on.

    Only PostgreSQL pauses them, so SQLite's tallies are already counted and stay as they are.
    """
    if connection.capabilities.dialect != "postgres":
        return
    for statement in RECOUNT:
        await connection.execute_script(statement)
    for table, trigger in POSTGRES_INSERT_TRIGGERS:
        await connection.execute_script(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"')
