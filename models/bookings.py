"""Bookings with their buyer, guests and custom-field answers."""

from tortoise import fields
from tortoise.models import Model

from models.catalog import CustomField, Departure
from models.customers import Customer
from models.enums import BookingChannel, BookingStatus, GuestCategory
from models.organizations import Organization
from models.users import User


class Booking(Model):
    id = fields.IntField(primary_key=True)
    reference = fields.CharField(max_length=16, unique=True)
    # The organization that sold the booking: the supplier itself or one of its partners.
    # It has no index of its own (see Meta.indexes).
    seller: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="bookings", on_delete=fields.CASCADE
    )
    seller_id: int
    departure: fields.ForeignKeyRelation[Departure] = fields.ForeignKeyField(
        "models.Departure", related_name="bookings", on_delete=fields.RESTRICT, db_index=True
    )
    departure_id: int
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="bookings", on_delete=fields.RESTRICT, db_index=True
    )
    customer_id: int
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User",
        related_name="created_bookings",
        null=True,
        on_delete=fields.SET_NULL,
        db_index=True,
    )
    created_by_id: int | None
    status = fields.CharEnumField(BookingStatus, max_length=16, db_index=True)
    channel = fields.CharEnumField(BookingChannel, max_length=16)
    total_amount = fields.DecimalField(max_digits=12, decimal_places=2)
    currency = fields.CharField(max_length=3)
    created_at = fields.DatetimeField(db_index=True)
    cancelled_at = fields.DatetimeField(null=True)
    # The trip date: the departure's `starts_on`, copied so that one index contains the trip date
    # and the booking date together (see Meta.indexes). Triggers keep it equal to the
    # departure's on every write (migration 0008). It is null only inside the statement that
    # inserts a booking on SQLite, because SQLite's trigger fills it after the row is written.
    trip_starts_on = fields.DateField(null=True)

    buyer: fields.BackwardOneToOneRelation["Buyer"]
    guests: fields.ReverseRelation["Guest"]

    class Meta:
        table = "booking"
        # Lists of guests and bookings sorted by trip start walk the departures in start order
        # and look up each departure's bookings by departure and seller. With the id in the
        # index, counting guests joins bookings from the index alone on PostgreSQL too. With the
        # booking date last, a guests page in booking-date order is chosen from indexes alone.
        #
        # An index that starts with seller_id would mislead SQLite without ANALYZE statistics.
        # It takes an equality on any indexed column to match a few rows, so it would read every
        # booking of the seller and sort them all, where one seller sells most bookings.
        # NOTE: deleting an organization therefore scans the bookings for its sales.
        #
        # A guests page of a few trip dates in booking-date order is chosen per trip date from
        # the second index, in booking-date order, and the days' pages are merged
        # (models/queries/guests.py). SQLite uses it only where a statement names the trip date
        # of the booking, which only that page does, so no other list changes its plan.
        indexes = (
            ("departure_id", "seller_id", "id", "created_at"),
            ("trip_starts_on", "created_at", "id"),
        )

    def __str__(self) -> str:
        return self.reference


class Buyer(Model):
    """The paying customer of one booking, as entered when the booking was made."""

    id = fields.IntField(primary_key=True)
    booking: fields.OneToOneRelation[Booking] = fields.OneToOneField(
        "models.Booking", related_name="buyer", on_delete=fields.CASCADE
    )
    booking_id: int
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    email = fields.CharField(max_length=254, db_index=True)
    phone = fields.CharField(max_length=40, default="")
    country = fields.CharField(max_length=2, default="")
    language = fields.CharField(max_length=16, default="")
    marketing_consent = fields.BooleanField(default=False)

    class Meta:
        table = "buyer"

    def __str__(self) -> str:
        return self.email


class Guest(Model):
    id = fields.IntField(primary_key=True)
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="guests", on_delete=fields.CASCADE, db_index=True
    )
    booking_id: int
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100, db_index=True)
    email = fields.CharField(max_length=254, default="")
    phone = fields.CharField(max_length=40, default="")
    category = fields.CharEnumField(
        GuestCategory, max_length=16, default=GuestCategory.ADULT, db_index=True
    )
    checked_in_at = fields.DatetimeField(null=True, db_index=True)
    # Order of the guest within the booking, as entered.
    position = fields.IntField(default=0)

    class Meta:
        table = "guest"

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class CustomFieldAnswer(Model):
    """An answer to a custom field: for the booking when `guest` is null, else for that guest."""

    id = fields.IntField(primary_key=True)
    custom_field: fields.ForeignKeyRelation[CustomField] = fields.ForeignKeyField(
        "models.CustomField", related_name="answers", on_delete=fields.CASCADE, db_index=True
    )
    custom_field_id: int
    booking: fields.ForeignKeyRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="answers", on_delete=fields.CASCADE, db_index=True
    )
    booking_id: int
    guest: fields.ForeignKeyNullableRelation[Guest] = fields.ForeignKeyField(
        "models.Guest", related_name="answers", null=True, on_delete=fields.CASCADE, db_index=True
    )
    guest_id: int | None
    # The normalised text form: numbers as decimals, dates as ISO 8601, booleans as true/false.
    value = fields.TextField()

    class Meta:
        table = "custom_field_answer"
        # NOTE: on SQLite, migration 0004 also indexes (booking_id, guest_id, custom_field_id,
        # value) for the CSV export. It is not declared here because PostgreSQL must not get it:
        # a long answer would exceed the size of a B-tree entry there.

    def __str__(self) -> str:
        return f"{self.custom_field_id}={self.value}"
