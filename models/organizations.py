"""Organizations (tenants) and the partner connections between them."""

from tortoise import fields
from tortoise.models import Model

from models.enums import PartnerConnectionStatus


class Organization(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    # IANA zone name such as "Europe/Zurich": date filters and CSV timestamps are read in it.
    time_zone = fields.CharField(max_length=64)
    # ISO 4217 code; every amount of the organization's bookings is in it.
    currency = fields.CharField(max_length=3)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "organization"

    def __str__(self) -> str:
        return self.slug


class PartnerConnection(Model):
    """A supplier lets a partner (reseller) sell its activities while the connection is ACTIVE."""

    id = fields.IntField(primary_key=True)
    supplier: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization",
        related_name="partner_connections",
        on_delete=fields.CASCADE,
        db_index=True,
    )
    supplier_id: int
    partner: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization",
        related_name="supplier_connections",
        on_delete=fields.CASCADE,
        db_index=True,
    )
    partner_id: int
    status = fields.CharEnumField(PartnerConnectionStatus, max_length=16, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "partner_connection"
        unique_together = (("supplier", "partner"),)

    def __str__(self) -> str:
        return f"{self.supplier_id}->{self.partner_id} {self.status}"
