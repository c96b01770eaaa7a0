"""Count the runs of an export job that a busy or unreachable database interrupted.

Such a job goes back to the queue until `retry_after`, and fails after a few retries. The
database default fills the count of the exports already there.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_booking_departure_seller_index')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Export',
            name='database_retries',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Export',
            name='retry_after',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
