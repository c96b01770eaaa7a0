from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ExportList, ExportStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Export',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('models.Organization', source_field='organization_id', db_index=True, db_constraint=True, to_field='id', related_name='exports', on_delete=OnDelete.CASCADE)),
                ('requested_by', fields.ForeignKeyField('models.User', source_field='requested_by_id', db_index=True, db_constraint=True, to_field='id', related_name='exports', on_delete=OnDelete.CASCADE)),
                ('list', fields.CharEnumField(description='GUESTS: GUESTS\nCUSTOMERS: CUSTOMERS\nUSERS: USERS', enum_type=ExportList, max_length=16)),
                ('filters', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('options', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('status', fields.CharEnumField(db_index=True, description='QUEUED: QUEUED\nRUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED\nEXPIRED: EXPIRED', enum_type=ExportStatus, max_length=16)),
                ('rows_written', fields.IntField(default=0)),
                ('rows_expected', fields.IntField(null=True)),
                ('file_name', fields.CharField(default='', max_length=255)),
                ('storage_key', fields.CharField(default='', max_length=255)),
                ('error', fields.TextField(default='', unique=False)),
                ('attempts', fields.IntField(default=0)),
                ('claimed_by', fields.CharField(default='', max_length=64)),
                ('heartbeat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'export', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One export job and the record of it, kept after its file expires.'},
            bases=['Model'],
        ),
    ]
