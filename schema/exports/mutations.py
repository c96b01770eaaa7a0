"""`createExport`: queue an export and wait a moment for it to finish."""

from typing import Annotated

import strawberry

from models.access import Viewer
from models.commands.exports import ExportOptions, request_export, require_export_permission
from models.enums import BookingStatus, CsvDelimiter, ExportList, GuestCategory, Role
from models.errors import ErrorCode, InputError, InputErrors, InvalidArgument
from models.queries.customers import CustomerFilter, customers_query
from models.queries.export_filters import ListFilter
from models.queries.guests import GuestFilter, guests_query
from models.queries.users import UserFilter, users_query
from schema.common import DateRangeInput
from schema.context import Info, viewer_of
from schema.customers.queries import CustomerFilterInput, customer_filter
from schema.errors import UserError, user_errors
from schema.exports.types import Export
from schema.guests.queries import GuestFilterInput, guest_filter

GUEST_ONLY = ("include_partners", "category", "checked_in", "departure", "activity")
CUSTOMER_ONLY = ("marketing_consent",)
USER_ONLY = ("role", "is_active")
BOOKING_FILTERS = ("trip_date", "booking_date", "status")


@strawberry.input(
    description=(
        "The filter of the list being exported: the same fields as that list's query takes. "
        "A field of another list is rejected."
    )
)
class ExportFilterInput:
    trip_date: DateRangeInput | None = strawberry.field(
        default=None, description="GUESTS and CUSTOMERS: departure start dates."
    )
    booking_date: DateRangeInput | None = strawberry.field(
        default=None, description="GUESTS and CUSTOMERS: dates bookings were made."
    )
    status: list[BookingStatus] | None = strawberry.field(
        default=None, description="GUESTS and CUSTOMERS: any of these booking statuses."
    )
    search: str | None = strawberry.field(
        default=None, description="Every list: the same text search as the list query."
    )
    include_partners: bool | None = strawberry.field(
        default=None, description="GUESTS: also guests that ACTIVE partners booked."
    )
    category: list[GuestCategory] | None = strawberry.field(
        default=None, description="GUESTS: any of these categories."
    )
    checked_in: bool | None = strawberry.field(
        default=None, description="GUESTS: checked in or not."
    )
    departure: strawberry.ID | None = strawberry.field(
        default=None, description="GUESTS: only this departure."
    )
    activity: strawberry.ID | None = strawberry.field(
        default=None, description="GUESTS: only this activity."
    )
    marketing_consent: bool | None = strawberry.field(
        default=None, description="CUSTOMERS: agreed to marketing email or not."
    )
    role: list[Role] | None = strawberry.field(
        default=None, description="USERS: any of these roles."
    )
    is_active: bool | None = strawberry.field(
        default=None, description="USERS: active or deactivated."
    )


@strawberry.input(description="How the CSV file is written.")
class ExportOptionsInput:
    byte_order_mark: bool = strawberry.field(
        default=False, description="Start with a UTF-8 byte-order mark, which Excel needs."
    )
    delimiter: CsvDelimiter = strawberry.field(
        default=CsvDelimiter.COMMA,
        description="Cell separator; SEMICOLON suits Excel in locales with a decimal comma.",
    )
    marketing_consent_only: bool = strawberry.field(
        default=False, description="CUSTOMERS: only customers who agreed to marketing email."
    )


@strawberry.input(description="A CSV export of one list.")
class CreateExportInput:
    list: ExportList = strawberry.field(description="The list to export.")
    filter: ExportFilterInput | None = strawberry.field(
        default=None, description="Which rows; all rows the list shows when left out."
    )
    options: ExportOptionsInput | None = strawberry.field(default=None, description="CSV options.")


@strawberry.type(description="Result of requesting an export.")
class ExportPayload:
    export: Export | None = strawberry.field(
        description=(
            "The export: DONE with its `url` when it finished within a few seconds, else "
            "QUEUED or RUNNING; follow it with `node(id:)` or the `exportUpdated` subscription "
            "until it ends. Null when `errors` is not empty."
        )
    )
    errors: list[UserError] = strawberry.field(description="Problems with the input, if any.")


def _reject_foreign_fields(value: ExportFilterInput, list_name: ExportList) -> None:
    allowed = {
        ExportList.GUESTS: (*BOOKING_FILTERS, *GUEST_ONLY),
        ExportList.CUSTOMERS: (*BOOKING_FILTERS, *CUSTOMER_ONLY),
        ExportList.USERS: USER_ONLY,
    }[list_name]
    errors = [
        InputError(
            f"filter.{strawberry_name(name)}",
            ErrorCode.INVALID,
            f"`{strawberry_name(name)}` does not filter the {list_name.value} list; remove it.",
        )
        for name in (*BOOKING_FILTERS, *GUEST_ONLY, *CUSTOMER_ONLY, *USER_ONLY)
        if name not in allowed and getattr(value, name) is not None
    ]
    if errors:
        raise InputErrors(errors)


def strawberry_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _list_filter(value: ExportFilterInput | None, list_name: ExportList) -> ListFilter:
    value = value or ExportFilterInput()
    _reject_foreign_fields(value, list_name)
    if list_name is ExportList.GUESTS:
        return guest_filter(
            GuestFilterInput(
                trip_date=value.trip_date,
                booking_date=value.booking_date,
                status=value.status,
                search=value.search,
                include_partners=bool(value.include_partners),
                category=value.category,
                checked_in=value.checked_in,
                departure=value.departure,
                activity=value.activity,
            )
        )
    if list_name is ExportList.CUSTOMERS:
        return customer_filter(
            CustomerFilterInput(
                trip_date=value.trip_date,
                booking_date=value.booking_date,
                status=value.status,
                search=value.search,
                marketing_consent=value.marketing_consent,
            )
        )
    return UserFilter(
        search=value.search or "", roles=tuple(value.role or ()), is_active=value.is_active
    )


def _check_options(
    options: ExportOptionsInput, export_filter: ExportFilterInput | None, list_name: ExportList
) -> None:
    if not options.marketing_consent_only:
        return
    if list_name is not ExportList.CUSTOMERS:
        message = f"`marketingConsentOnly` applies to CUSTOMERS exports, not {list_name.value}."
    elif export_filter is not None and export_filter.marketing_consent is False:
        # Both together would select no customer, so one of the two is surely a mistake.
        message = (
            "`marketingConsentOnly` keeps customers who agreed to marketing email, but "
            "`filter.marketingConsent` is false; remove one of them."
        )
    else:
        return
    raise InputErrors([InputError("options.marketingConsentOnly", ErrorCode.INVALID, message)])


@strawberry.type
class ExportMutations:
    @strawberry.mutation(
        description=(
            "Export a list to CSV with the same filter as its query. Who may export follows "
            "the role matrix: guests for admins, employees and accountants; customers for "
            "admins and accountants; users for admins."
        )
    )
    async def create_export(
        self,
        info: Info,
        input: Annotated[
            CreateExportInput, strawberry.argument(description="What to export and how.")
        ],
    ) -> ExportPayload:
        viewer = viewer_of(info)
        service = info.context.require_exports()
        require_export_permission(viewer, input.list)
        options = input.options or ExportOptionsInput()

        try:
            _check_options(options, input.filter, input.list)
            list_filter = _list_filter(input.filter, input.list)
            _build_query(viewer, list_filter)
        except InvalidArgument as error:
            return ExportPayload(
                export=None,
                errors=[UserError(field="filter", code=ErrorCode.INVALID, message=error.message)],
            )
        except InputErrors as error:
            return ExportPayload(export=None, errors=user_errors(error))

        export = await request_export(
            viewer,
            input.list,
            list_filter,
            ExportOptions(
                byte_order_mark=options.byte_order_mark,
                delimiter=options.delimiter,
                marketing_consent_only=options.marketing_consent_only,
            ),
            retention=service.retention,
        )
        service.submitted()
        await service.wait_for(export.id)
        await export.refresh_from_db()
        return ExportPayload(export=Export.from_row(export), errors=[])


def _build_query(viewer: Viewer, list_filter: ListFilter) -> None:
    """Build the list's query once, so an invalid filter fails now and not in the job."""
    if isinstance(list_filter, GuestFilter):
        guests_query(viewer, list_filter)
    elif isinstance(list_filter, CustomerFilter):
        customers_query(viewer, list_filter)
    else:
        users_query(viewer, list_filter)
