"""Checks that the tallies of bookings and guests hold what counting the rows gives."""

from collections import Counter
from datetime import date

from models.bookings import Booking, Guest
from models.tallies import ActivityTally, SupplierTally

# (activity or supplier id, trip date, seller id, booking status)
TallyKey = tuple[int, date, int, str]


async def tally_rows(
    tally: type[ActivityTally] | type[SupplierTally] = ActivityTally,
) -> dict[TallyKey, tuple[int, int]]:
    """Return a stored tally, without rows whose counts both went back to zero."""
    key = "activity_id" if tally is ActivityTally else "supplier_id"
    rows = await tally.all().values_list(
        key, "starts_on", "seller_id", "status", "bookings", "guests"
    )
    return {
        (owner, starts_on, seller, str(status)): (bookings, guests)
        for owner, starts_on, seller, status, bookings, guests in rows
        if (bookings, guests) != (0, 0)
    }


async def recounted(
    tally: type[ActivityTally] | type[SupplierTally] = ActivityTally,
) -> dict[TallyKey, tuple[int, int]]:
    """Count the bookings and guests per tally key from the booking and guest rows."""
    owner = "departure__activity_id"
    if tally is SupplierTally:
        owner = "departure__activity__organization_id"
    guests = Counter(await Guest.all().values_list("booking_id", flat=True))
    guest_counts: Counter[TallyKey] = Counter()
    booking_counts: Counter[TallyKey] = Counter()
    for booking_id, key_owner, starts_on, seller, status in await Booking.all().values_list(
        "id", owner, "departure__starts_on", "seller_id", "status"
    ):
        key = (key_owner, starts_on, seller, str(status))
        booking_counts[key] += 1
        guest_counts[key] += guests[booking_id]
    return {key: (booking_counts[key], guest_counts[key]) for key in booking_counts}


async def assert_tallies_match_recount() -> None:
    for tally in (ActivityTally, SupplierTally):
        assert await tally_rows(tally) == await recounted(tally), tally.__name__
        assert not await tally.filter(guests__lt=0).exists()
        assert not await tally.filter(bookings__lt=0).exists()
