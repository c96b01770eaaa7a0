"""On SQLite, index answers by booking, guest and question with their value, for the CSV export.

The export statement looks up each answer by its booking, its guest (or none) and its question
(api/exports/csv_sql.py). With the value in the index, SQLite reads the answers from the index
alone: bench/export_guests.py exported 100,181 guests 1.11 to 1.21 times as fast with it
(bench/RESULTS.md).

PostgreSQL does not get this index. There the export reads a booking's answers in one index
scan, which was as fast without the value in the index. A B-tree entry on PostgreSQL must also
fit in a third of a page (about 2,700 bytes), and an answer may have 2,000 characters of up to
four bytes each, so storing such an answer would fail.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

INDEX = "idx_custom_fiel_booking_answer_value"


class RunSQLOnSQLite(ops.RunSQL):
    """Run the SQL on SQLite only, and change nothing on other databases."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor is None or state_editor.DIALECT != "sqlite":
            return None
        return await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        if state_editor is None or state_editor.DIALECT != "sqlite":
            return None
        return await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [('models', '0003_export_database_retries')]

    initial = False

    operations = [
        RunSQLOnSQLite(
            f'CREATE INDEX "{INDEX}" ON "custom_field_answer" '
            '("booking_id", "guest_id", "custom_field_id", "value")',
            reverse_sql=f'DROP INDEX "{INDEX}"',
        ),
    ]
