"""Customers: the buyers of an organization merged by normalised email."""

from tortoise import fields
from tortoise.models import Model

from models.organizations import Organization


class Customer(Model):
    """One person who paid for bookings of one organization.

    The counters are kept up to date by the booking functions in the same transaction as the
    booking, so the customers list sorts and filters on plain indexed columns.
    """

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="customers", on_delete=fields.CASCADE, db_index=True
    )
    organization_id: int
    # Lower-cased and trimmed email: the merge key within the organization.
    email_key = fields.CharField(max_length=254)
    email = fields.CharField(max_length=254)
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100, db_index=True)
    phone = fields.CharField(max_length=40, default="")
    country = fields.CharField(max_length=2, default="")
    language = fields.CharField(max_length=16, default="")
    marketing_consent = fields.BooleanField(default=False, db_index=True)
    # Bookings that are not cancelled, and the sum of their totals.
    booking_count = fields.IntField(default=0)
    total_spent = fields.DecimalField(max_digits=14, decimal_places=2, default=0, db_index=True)
    first_booking_at = fields.DatetimeField(db_index=True)
    last_booking_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "customer"
        unique_together = (("organization", "email_key"),)

    def __str__(self) -> str:
        return self.email
