"""Tortoise models of tourdesk and the query functions the API and the exports share."""

MODEL_MODULES = [
    "models.organizations",
    "models.users",
    "models.catalog",
    "models.customers",
    "models.bookings",
]
