"""Tortoise models of tourdesk and the query functions the API and the exports share."""

# NOTE: Tortoise 1.1.9 copies model docstrings into SQL comments and splits SQLite scripts on ";",
# so a semicolon in a model docstring breaks the migration on SQLite.
MODEL_MODULES = [
    "models.organizations",
    "models.users",
    "models.catalog",
    "models.customers",
    "models.bookings",
    "models.tallies",
    "models.exports",
]
