"""What an operator sells: activities, their departures and the custom questions it asks."""

from tortoise import fields
from tortoise.models import Model

from models.enums import CustomFieldScope, CustomFieldType
from models.organizations import Organization
from models.users import User


class Activity(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="activities", on_delete=fields.CASCADE, db_index=True
    )
    organization_id: int
    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    departures: fields.ReverseRelation["Departure"]

    class Meta:
        table = "activity"

    def __str__(self) -> str:
        return self.name


class Departure(Model):
    """One dated run of an activity."""

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="departures", on_delete=fields.CASCADE, db_index=True
    )
    activity_id: int
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    # The start's calendar date in the supplier's time zone. Stored so that trip-date filters are
    # an indexed equality on dates, exact across daylight-saving changes.
    starts_on = fields.DateField(db_index=True)
    capacity = fields.IntField()
    guides: fields.ManyToManyRelation[User] = fields.ManyToManyField(
        "models.User", related_name="guided_departures", through="departure_guide"
    )

    class Meta:
        table = "departure"

    def __str__(self) -> str:
        return f"{self.activity_id}@{self.starts_at.isoformat()}"


class CustomField(Model):
    """A question an organization asks once per booking or once per guest."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="custom_fields", on_delete=fields.CASCADE, db_index=True
    )
    organization_id: int
    scope = fields.CharEnumField(CustomFieldScope, max_length=16)
    key = fields.CharField(max_length=64)
    label = fields.CharField(max_length=200)
    type = fields.CharEnumField(CustomFieldType, max_length=16)
    required = fields.BooleanField(default=False)
    # The allowed answers of a SELECT field; empty for the other types.
    options: fields.Field[list[str]] = fields.JSONField(default=list)
    # Answers that identify or describe a person (weight, allergies) are personal data.
    personal_data = fields.BooleanField(default=False)
    position = fields.IntField(default=0)

    class Meta:
        table = "custom_field"
        unique_together = (("organization", "scope", "key"),)

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
