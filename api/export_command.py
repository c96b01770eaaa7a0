"""`tourdesk export`: write a list to CSV from the command line, through the export code.

The command runs as the organization itself, with every role, so it sees what an admin sees.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from api.cli_support import CommandError, fail, load_settings, run_async
from api.database import connected
from api.exports.jobs import write_csv
from api.settings import Settings
from models.access import Viewer
from models.commands.exports import ExportOptions
from models.dates import DateRange
from models.enums import BookingStatus, CsvDelimiter, GuestCategory, Role
from models.organizations import Organization
from models.queries.bookings import BookingFilter
from models.queries.customers import CustomerFilter
from models.queries.export_filters import ListFilter
from models.queries.guests import GuestFilter
from models.queries.users import UserFilter

export_app = typer.Typer(
    help="Export a list to CSV, with the same filters as the API.", no_args_is_help=True
)

DATE = {"formats": ["%Y-%m-%d"], "metavar": "YYYY-MM-DD"}

Org = Annotated[str, typer.Option("--org", help="Slug of the organization to export.")]
Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="File to write; standard output when left out."),
]
TripFrom = Annotated[
    datetime | None, typer.Option(help="First trip date, in the organization's zone.", **DATE)
]
TripTo = Annotated[
    datetime | None, typer.Option(help="Last trip date, in the organization's zone.", **DATE)
]
BookedFrom = Annotated[
    datetime | None, typer.Option(help="First booking date, in the organization's zone.", **DATE)
]
BookedTo = Annotated[
    datetime | None, typer.Option(help="Last booking date, in the organization's zone.", **DATE)
]
Status = Annotated[
    list[BookingStatus] | None, typer.Option(help="Booking status; repeat for several.")
]
Search = Annotated[str, typer.Option(help="Text to search, as the list's `search` filter.")]
Bom = Annotated[bool, typer.Option("--bom", help="Start with a UTF-8 byte-order mark for Excel.")]
Delimiter = Annotated[CsvDelimiter, typer.Option(help="Cell separator.")]


def _range(start: datetime | None, end: datetime | None) -> DateRange:
    return DateRange(start=start.date() if start else None, end=end.date() if end else None)


@export_app.command("guests")
def export_guests(
    org: Org,
    output: Output = None,
    trip_from: TripFrom = None,
    trip_to: TripTo = None,
    booked_from: BookedFrom = None,
    booked_to: BookedTo = None,
    status: Status = None,
    search: Search = "",
    include_partners: Annotated[
        bool, typer.Option(help="Also guests that ACTIVE partners booked on your activities.")
    ] = False,
    category: Annotated[
        list[GuestCategory] | None, typer.Option(help="Guest category; repeat for several.")
    ] = None,
    checked_in: Annotated[
        bool | None, typer.Option("--checked-in/--not-checked-in", help="Check-in state.")
    ] = None,
    bom: Bom = False,
    delimiter: Delimiter = CsvDelimiter.COMMA,
) -> None:
    """Export guests, one row per guest with their answers."""
    guest_filter = GuestFilter(
        booking=BookingFilter(
            trip_date=_range(trip_from, trip_to),
            booking_date=_range(booked_from, booked_to),
            statuses=tuple(status or ()),
            search=search,
            include_partners=include_partners,
        ),
        categories=tuple(category or ()),
        checked_in=checked_in,
    )
    _export(org, guest_filter, ExportOptions(byte_order_mark=bom, delimiter=delimiter), output)


@export_app.command("customers")
def export_customers(
    org: Org,
    output: Output = None,
    trip_from: TripFrom = None,
    trip_to: TripTo = None,
    booked_from: BookedFrom = None,
    booked_to: BookedTo = None,
    status: Status = None,
    search: Search = "",
    marketing_consent_only: Annotated[
        bool, typer.Option(help="Only customers who agreed to marketing email.")
    ] = False,
    bom: Bom = False,
    delimiter: Delimiter = CsvDelimiter.COMMA,
) -> None:
    """Export customers, one row per person with counts and totals."""
    customer_filter = CustomerFilter(
        trip_date=_range(trip_from, trip_to),
        booking_date=_range(booked_from, booked_to),
        statuses=tuple(status or ()),
        search=search,
    )
    options = ExportOptions(
        byte_order_mark=bom, delimiter=delimiter, marketing_consent_only=marketing_consent_only
    )
    _export(org, customer_filter, options, output)


@export_app.command("users")
def export_users(
    org: Org,
    output: Output = None,
    search: Search = "",
    role: Annotated[list[Role] | None, typer.Option(help="Role; repeat for several.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Active or deactivated users.")
    ] = None,
    bom: Bom = False,
    delimiter: Delimiter = CsvDelimiter.COMMA,
) -> None:
    """Export back-office users with their roles."""
    user_filter = UserFilter(search=search, roles=tuple(role or ()), is_active=active)
    _export(org, user_filter, ExportOptions(byte_order_mark=bom, delimiter=delimiter), output)


def _export(
    slug: str, list_filter: ListFilter, options: ExportOptions, output: Path | None
) -> None:
    settings = load_settings()
    if output is not None:
        _check_output(output)
    rows = run_async(settings, lambda: _write(settings, slug, list_filter, options, output))
    if output is not None:
        typer.echo(f"Wrote {rows:,} rows to {output}.", err=True)


def _check_output(output: Path) -> None:
    """Fail before any query when the output path cannot take a file."""
    if output.is_dir():
        fail(f"{output} is a directory; pass a file name with -o, such as {output / 'export.csv'}.")
    if not output.parent.is_dir():
        fail(f"The folder {output.parent} does not exist; create it or choose another -o path.")


async def _write(
    settings: Settings,
    slug: str,
    list_filter: ListFilter,
    options: ExportOptions,
    output: Path | None,
) -> int:
    async with connected(settings):
        organization = await Organization.get_or_none(slug=slug)
        if organization is None:
            raise CommandError(f"No organization has the slug {slug!r}; check --org.")
        viewer = organization_viewer(organization)
        try:
            with _destination(output) as stream, ProgressBar() as progress:
                return await write_csv(viewer, list_filter, options, stream, progress)
        except BrokenPipeError as error:
            raise CommandError("Standard output was closed before the export ended.") from error


def organization_viewer(organization: Organization) -> Viewer:
    """Return a viewer with every role in the organization, for operators on the server."""
    return Viewer(
        user_id=0,
        organization_id=organization.id,
        time_zone=organization.time_zone,
        currency=organization.currency,
        roles=frozenset(Role),
    )


@contextmanager
def _destination(output: Path | None) -> Iterator[IO[str]]:
    """Open the output, writing a file under a temporary name renamed into place at the end."""
    if output is None:
        yield sys.stdout
        return
    partial = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


class ProgressBar:
    """A progress bar on a terminal's stderr; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        # click's ProgressBar, which click does not export under a public name.
        self.bar: Any = None
        self.shown = 0

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc_info)

    async def __call__(self, written: int, expected: int | None) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = typer.progressbar(length=expected or 0, label="Rows", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(written - self.shown)
        self.shown = written
