"""Filters stored with an export, as JSON with the API's field names, and read back.

An export runs its filter through the same query functions as the lists, so the stored form is
turned back into the very filter objects those functions take.
"""

from datetime import date
from typing import Any

from models.dates import DateRange
from models.enums import BookingStatus, ExportList, GuestCategory, Role
from models.queries.bookings import BookingFilter
from models.queries.customers import CustomerFilter
from models.queries.guests import GuestFilter
from models.queries.users import UserFilter

ListFilter = GuestFilter | CustomerFilter | UserFilter


def _range_to_json(value: DateRange) -> dict[str, str] | None:
    if value.start is None and value.end is None:
        return None
    stored = {}
    if value.start:
        stored["from"] = value.start.isoformat()
    if value.end:
        stored["to"] = value.end.isoformat()
    return stored


def _range_from_json(value: dict[str, str] | None) -> DateRange:
    if not value:
        return DateRange()
    start = value.get("from")
    end = value.get("to")
    return DateRange(
        start=date.fromisoformat(start) if start else None,
        end=date.fromisoformat(end) if end else None,
    )


def _without_empty(values: dict[str, Any]) -> dict[str, Any]:
    # False stays: `checkedIn: false` filters as much as `checkedIn: true` does.
    return {key: value for key, value in values.items() if value not in (None, "", [])}


def filter_to_json(list_filter: ListFilter) -> dict[str, Any]:
    if isinstance(list_filter, GuestFilter):
        booking = list_filter.booking
        return _without_empty(
            {
                "tripDate": _range_to_json(booking.trip_date),
                "bookingDate": _range_to_json(booking.booking_date),
                "status": [status.value for status in booking.statuses],
                "search": booking.search,
                "includePartners": booking.include_partners,
                "departureId": booking.departure_id,
                "activityId": booking.activity_id,
                "category": [category.value for category in list_filter.categories],
                "checkedIn": list_filter.checked_in,
            }
        )
    if isinstance(list_filter, CustomerFilter):
        return _without_empty(
            {
                "tripDate": _range_to_json(list_filter.trip_date),
                "bookingDate": _range_to_json(list_filter.booking_date),
                "status": [status.value for status in list_filter.statuses],
                "search": list_filter.search,
                "marketingConsent": list_filter.marketing_consent,
            }
        )
    return _without_empty(
        {
            "search": list_filter.search,
            "role": [role.value for role in list_filter.roles],
            "isActive": list_filter.is_active,
        }
    )


def filter_from_json(list_name: ExportList, stored: dict[str, Any]) -> ListFilter:
    if list_name is ExportList.GUESTS:
        booking = BookingFilter(
            trip_date=_range_from_json(stored.get("tripDate")),
            booking_date=_range_from_json(stored.get("bookingDate")),
            statuses=tuple(BookingStatus(status) for status in stored.get("status", [])),
            search=stored.get("search", ""),
            include_partners=bool(stored.get("includePartners", False)),
            departure_id=stored.get("departureId"),
            activity_id=stored.get("activityId"),
        )
        return GuestFilter(
            booking=booking,
            categories=tuple(GuestCategory(category) for category in stored.get("category", [])),
            checked_in=stored.get("checkedIn"),
        )
    if list_name is ExportList.CUSTOMERS:
        return CustomerFilter(
            trip_date=_range_from_json(stored.get("tripDate")),
            booking_date=_range_from_json(stored.get("bookingDate")),
            statuses=tuple(BookingStatus(status) for status in stored.get("status", [])),
            search=stored.get("search", ""),
            marketing_consent=stored.get("marketingConsent"),
        )
    return UserFilter(
        search=stored.get("search", ""),
        roles=tuple(Role(role) for role in stored.get("role", [])),
        is_active=stored.get("isActive"),
    )
