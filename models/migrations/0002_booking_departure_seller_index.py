"""Index bookings by departure and seller, in place of the index on seller alone.

An index that starts with seller_id made SQLite, without ANALYZE statistics, read every booking
of the seller and sort them to list one page. See the comment on Booking.Meta.indexes.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class AlterFieldState(ops.AlterField):
    """Record a field change that needs no table rebuild, because RunSQL makes it.

    AlterField on SQLite in Tortoise 1.1.9 rebuilds the table and loses its other indexes.
    """

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        return None


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        AlterFieldState(
            model_name='Booking',
            name='seller',
            field=fields.ForeignKeyField('models.Organization', source_field='seller_id', db_constraint=True, to_field='id', related_name='bookings', on_delete=OnDelete.CASCADE),
        ),
        ops.RunSQL(
            'DROP INDEX "idx_booking_seller__b1c54c"',
            reverse_sql='CREATE INDEX "idx_booking_seller__b1c54c" ON "booking" ("seller_id")',
        ),
        ops.AddIndex(
            model_name='Booking',
            index=Index(fields=['departure_id', 'seller_id', 'id']),
        ),
    ]
