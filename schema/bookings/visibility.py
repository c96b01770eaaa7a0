"""Fetching single bookings for nested fields, checked against what the viewer may read."""

from models import bookings
from models.errors import NotFound
from models.queries.visibility import visible_bookings
from schema.context import Info, viewer_of


async def load_booking(info: Info, booking_id: int) -> bookings.Booking:
    viewer = viewer_of(info)
    row = await visible_bookings(viewer, include_partners=True).get_or_none(id=booking_id)
    if row is None:
        raise NotFound(f"Booking {booking_id} was not found.")
    return row
