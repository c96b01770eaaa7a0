"""The short execution path returns what graphql-core's path returns for the production schema.

Each document runs as several viewers on the schema of `tests.helpers`, which takes the short
path, and on a copy that takes graphql-core's default path. The two responses, errors included,
are compared as JSON text, so that the order of the fields counts too.
"""

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product
from typing import Any

import httpx
import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import api.app
from api.app import create_app
from api.settings import Environment, Settings
from models.catalog import CustomField
from models.commands.auth import sign_in
from models.enums import BookingStatus, ExportList, ExportStatus, Role
from models.exports import Export
from models.users import User
from schema.context import Context
from schema.dataloaders import build_loaders
from schema.relay import to_global_id
from schema.schema import GuardRails, build_schema
from tests.api.exports.support import export_service
from tests.factories import PASSWORD, World, add_booking, create_departure, viewer_for
from tests.helpers import SCHEMA

GENERAL = build_schema(GuardRails(mask_unexpected_errors=True))
GENERAL.execution_context_class = StrawberryGraphQLCoreExecutionContext

# Schemas like the development server's, which do not mask the messages of unexpected errors.
UNMASKED_SHORT = build_schema(GuardRails(mask_unexpected_errors=False))
UNMASKED_GENERAL = build_schema(GuardRails(mask_unexpected_errors=False))
UNMASKED_GENERAL.execution_context_class = StrawberryGraphQLCoreExecutionContext

BOOKING_FIELDS = """
  __typename id reference status channel createdAt cancelledAt
  total { amount currency }
  buyer { firstName lastName email phone country language marketingConsent }
  seller { __typename id slug name timeZone currency }
  departure {
    id startsAt endsAt tripDate capacity seatsTaken seatsLeft
    activity { id name description customFields { id key label scope type options } }
    guides { firstName lastName }
  }
  guests { id firstName lastName email category checkedIn checkedInAt answers { key value } }
  answers { key value field { id key required personalData } }
"""

DOCUMENTS = {
    "bookings": f"""
        query {{
          bookings(first: 50, filter: {{includePartners: true}}) {{
            totalCount
            pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
            edges {{ cursor node {{ {BOOKING_FIELDS} }} }}
            nodes {{ {BOOKING_FIELDS} }}
          }}
        }}
    """,
    "own bookings": f"query {{ bookings(first: 50) {{ nodes {{ {BOOKING_FIELDS} }} }} }}",
    "aliases and merged selections": """
        query {
          a: bookings(first: 50, filter: {includePartners: true}) {
            nodes {
              ref: reference
              reference
              buyer { email }
              buyer { firstName email }
              again: buyer { lastName }
              total { amount }
              total { currency amount }
              guests { firstName }
              guests { lastName firstName answers { value } }
              one: departure { id }
              two: departure { activity { name } }
              departure { seatsLeft activity { id } }
              seller { name }
              t1: __typename
              t2: __typename
            }
          }
          b: bookings(first: 1) { totalCount }
        }
    """,
    "fragments": """
        query {
          bookings(first: 50, filter: {includePartners: true}) {
            nodes { ...BookingParts ... on Node { id } ... on Booking { status buyer { ...Who } } }
          }
          viewer { ...UserParts organization { ... on Node { __typename id } } }
        }
        fragment BookingParts on Booking {
          reference
          buyer { ...Who }
          guests { ... on Guest { firstName } ...on Node { id } }
        }
        fragment Who on Buyer { email lastName }
        fragment UserParts on User { id email roles isActive lastSignInAt createdAt }
    """,
    "skip and include": """
        query ($yes: Boolean!, $no: Boolean!) {
          bookings(first: 50, filter: {includePartners: true}) {
            nodes {
              reference @include(if: $yes)
              status @include(if: $no)
              buyer @skip(if: $no) { email @skip(if: $yes) firstName }
              total @skip(if: $yes) { amount }
              guests { firstName @include(if: $yes) lastName @include(if: $no) }
              ... on Booking @include(if: $no) { channel }
              ... @skip(if: $no) { createdAt }
            }
          }
        }
    """,
    "guests": """
        query {
          guests(first: 50) {
            totalCount
            nodes {
              __typename id firstName lastName email phone category checkedIn
              answers { key value field { label } }
              booking { reference buyer { email } total { amount } seller { slug } }
            }
          }
        }
    """,
    "customers": """
        query {
          customers(first: 50) {
            totalCount
            nodes {
              id email firstName lastName phone country language marketingConsent
              bookingCount totalSpent { amount currency } firstBookingAt lastBookingAt
            }
          }
        }
    """,
    "users": """
        query {
          users(first: 50) {
            nodes { id email firstName lastName isActive roles organization { slug } }
          }
          viewer { id roles organization { id name } }
        }
    """,
    "departures and activities": """
        query {
          departures(first: 50) {
            nodes {
              id tripDate seatsTaken seatsLeft guides { firstName }
              guests { firstName booking { reference buyer { email } } }
              activity { name customFields { key } }
            }
          }
          activities { id name customFields { id key label type options required } }
          customFields { id key scope personalData }
        }
    """,
    "exports": """
        query {
          exports(first: 10) {
            nodes {
              id list status rowCount fileName filter options error createdAt finishedAt
              expiresAt url progress { rowsWritten rowsExpected }
              requestedBy { email organization { slug } }
            }
          }
        }
    """,
    # One node each: a node that is not found nulls the whole response, and with several the
    # first lookup to fail wins, on either path.
    "booking node": """
        query ($booking: ID!) {
          node(id: $booking) { __typename id ... on Booking { reference buyer { email } } }
        }
    """,
    "partner booking node": """
        query ($partnerBooking: ID!) {
          node(id: $partnerBooking) {
            id ... on Booking { reference buyer { email } total { amount } seller { slug } }
          }
        }
    """,
    "guest node": """
        query ($guest: ID!) {
          node(id: $guest) { ... on Guest { firstName booking { buyer { email } } } }
        }
    """,
    "user node": """
        query ($user: ID!) { node(id: $user) { ... on User { email organization { slug } } } }
    """,
    "export node": """
        query ($export: ID!) {
          node(id: $export) { ... on Export { status requestedBy { email } } }
        }
    """,
    "missing node": """
        query { viewer { email } node(id: "Qm9va2luZzo5OTk5OQ==") { id } }
    """,
    "introspection": """
        query {
          __schema { queryType { name } types { name kind fields { name type { name kind } } } }
          __type(name: "Booking") { name fields { name args { name } } interfaces { name } }
          bookings(first: 1) { __typename nodes { __typename } }
        }
    """,
    "deep nesting": """
        query {
          guests(first: 3) {
            nodes {
              booking {
                departure {
                  guests {
                    booking {
                      departure { activity { customFields { key } } guests { firstName } }
                      guests { answers { field { key } } }
                    }
                  }
                }
              }
            }
          }
        }
    """,
    "at the depth limit": """
        query {
          guests(first: 2) {
            nodes {
              booking {
                departure {
                  guests { booking { departure { guests { booking { departure { activity {
                    name
                  } } } } } } }
                }
              }
            }
          }
        }
    """,
    "many aliases": "query { bookings(first: 50) { nodes { "
    + " ".join(f"b{index}: buyer {{ email }}" for index in range(14))
    + " "
    + " ".join(f"d{index}: departure {{ id }}" for index in range(14))
    + " } } }",
}

UPDATE_GUEST = """
mutation ($input: UpdateGuestInput!) {
  updateGuest(input: $input) {
    guest { id lastName booking { reference buyer { email } guests { lastName } } }
    errors { field code message }
  }
}
"""

CANCEL_BOOKING = """
mutation ($input: CancelBookingInput!) {
  cancelBooking(input: $input) {
    booking { id status buyer { email } departure { seatsTaken } }
    errors { field code message }
  }
}
"""

LOGIN = """
mutation { login(input: {email: "nobody@alpine.example", password: "wrong"}) {
  token errors { field code message } } }
"""

VIEWERS = [
    ("alpine", Role.ADMIN),
    ("alpine", Role.EMPLOYEE),
    ("alpine", Role.AGENT),
    ("alpine", Role.GUIDE),
    ("alpine", Role.ACCOUNTANT),
    ("alpine", Role.EDITOR),
    ("lakeside", Role.ADMIN),
    ("lakeside", Role.AGENT),
    ("summit", Role.ADMIN),
]


@dataclass
class Fixtures:
    world: World
    variables: dict[str, Any]


async def add_export(user: User) -> Export:
    now = datetime(2026, 7, 1, tzinfo=UTC)
    return await Export.create(
        organization_id=user.organization_id,
        requested_by_id=user.id,
        list=ExportList.GUESTS,
        status=ExportStatus.QUEUED,
        created_at=now,
        expires_at=now + timedelta(days=1),
    )


@pytest.fixture
async def fixtures(world: World) -> Fixtures:
    created_at = datetime(2026, 6, 1, tzinfo=UTC)
    agent = world.user("alpine", Role.AGENT)
    answers = {
        world.fields["hotel_pickup"]: "Hotel Bellevue",
        world.fields["weight_kg"]: "72",
        world.fields["dietary_needs"]: "vegan",
    }
    own = await add_booking(
        seller=world.alpine,
        departure=world.departure,
        created_by=agent,
        guests=[("Zoë", "Müller"), ("Jan", "Novák")],
        created_at=created_at,
        answers=answers,
    )
    await add_booking(
        seller=world.alpine,
        departure=world.other_departure,
        buyer_email="other@example.com",
        created_at=created_at + timedelta(hours=1),
        status=BookingStatus.CANCELLED,
        total=Decimal("0.05"),
    )
    partner = await add_booking(
        seller=world.lakeside,
        departure=world.departure,
        created_by=world.user("lakeside", Role.AGENT),
        buyer_email="partner-buyer@example.com",
        created_at=created_at + timedelta(hours=2),
        answers={world.fields["weight_kg"]: "80"},
    )
    guest = await own.guests.all().order_by("position").first()
    assert guest is not None
    export = await add_export(world.user("alpine", Role.ADMIN))
    variables = {
        "booking": to_global_id("Booking", own.id),
        "partnerBooking": to_global_id("Booking", partner.id),
        "guest": to_global_id("Guest", guest.id),
        "user": to_global_id("User", agent.id),
        "export": to_global_id("Export", export.id),
        "yes": True,
        "no": False,
    }
    return Fixtures(world, variables)


async def response(schema: Any, user: User | None, document: str, variables: dict[str, Any]) -> str:
    """Run `document` as `user` and return the whole response as JSON text."""
    viewer = await viewer_for(user) if user else None
    context = Context(viewer=viewer, loaders=build_loaders(viewer), token=None, exports=None)
    result = await schema.execute(document, variable_values=variables, context_value=context)
    errors = [error.formatted for error in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors}, default=str, ensure_ascii=False)


async def both(
    user: User | None, document: str, variables: dict[str, Any], *, masked: bool = True
) -> tuple[str, str]:
    short_schema, general_schema = (
        (SCHEMA, GENERAL) if masked else (UNMASKED_SHORT, UNMASKED_GENERAL)
    )
    short = await response(short_schema, user, document, variables)
    general = await response(general_schema, user, document, variables)
    return short, general


async def test_queries_match_on_both_paths(fixtures: Fixtures) -> None:
    differences = []
    for organization, role in VIEWERS:
        user = fixtures.world.user(organization, role)
        for name, document in DOCUMENTS.items():
            short, general = await both(user, document, fixtures.variables)
            if short != general:
                differences.append((organization, role.value, name, short, general))
    assert differences == []


async def test_anonymous_queries_match_on_both_paths(fixtures: Fixtures) -> None:
    for document in (DOCUMENTS["own bookings"], DOCUMENTS["booking node"]):
        short, general = await both(None, document, fixtures.variables)
        assert short == general


async def twin_bookings(world: World) -> list[str]:
    """Two bookings alike but for their ids, each alone on a departure of its own."""
    ids: list[str] = []
    for day in (20, 21):
        departure = await create_departure(
            world.activity, datetime(2026, 7, day, 7, tzinfo=UTC), time_zone="Europe/Zurich"
        )
        booking = await add_booking(
            seller=world.alpine,
            departure=departure,
            guests=[("Ana", "Silva"), ("Ben", "Okafor")],
            created_at=datetime(2026, 6, 2, tzinfo=UTC),
        )
        ids.append(to_global_id("Booking", booking.id))
    return ids


def without_ids(text: str, ids: list[str]) -> str:
    for global_id in ids:
        text = text.replace(global_id, "<twin>")
    text = re.sub(r"Booking \d+ ", "Booking <id> ", text)
    return re.sub(r"T-\d{6}", "T-<reference>", text)


async def test_mutations_match_on_both_paths(fixtures: Fixtures) -> None:
    admin = fixtures.world.user("alpine", Role.ADMIN)
    partner = fixtures.world.user("lakeside", Role.ADMIN)
    twins = await twin_bookings(fixtures.world)
    guest_input = {"input": {"id": fixtures.variables["guest"], "lastName": "Meier"}}
    cases: list[tuple[User | None, str, dict[str, Any], dict[str, Any]]] = [
        (admin, UPDATE_GUEST, guest_input, guest_input),
        (partner, UPDATE_GUEST, guest_input, guest_input),
        (None, LOGIN, {}, {}),
    ]
    # Cancelling changes the booking, so each path cancels its own twin.
    # A second cancel is rejected.
    for canceller in (partner, admin, admin):
        cancel = [{"input": {"id": twin}} for twin in twins]
        cases.append((canceller, CANCEL_BOOKING, cancel[0], cancel[1]))
    for user, document, short_variables, general_variables in cases:
        short = await response(SCHEMA, user, document, short_variables)
        general = await response(GENERAL, user, document, general_variables)
        assert without_ids(short, twins) == without_ids(general, twins)


# Each alone, so that one null at the root does not hide the errors of the others.
CORRUPT_OPTIONS = [
    "query { activities { name customFields { key options } } }",
    "query { customFields { key options } }",
    """
    query {
      bookings(first: 50, filter: {includePartners: true}) {
        nodes { reference answers { value field { key label options } } }
      }
    }
    """,
    "query { exports(first: 10) { nodes { id filter options requestedBy { email } } } }",
]


async def test_rejected_values_match_on_both_paths(fixtures: Fixtures) -> None:
    # Options are JSON in the database, so rows written outside the API may hold anything: a null
    # in a list of non-null strings, a value no String represents, or no list at all. One field
    # at a time, since of several nulls in non-null fields the first to fail wins on either path.
    world = fixtures.world
    await Export.all().update(options={"nested": [1, None, {"deep": True}]})
    for options in (["a", None, "b", None], ["kg", {"unit": "kg"}, 7, True], {"none": "vegan"}):
        await CustomField.filter(id=world.fields["weight_kg"].id).update(options=options)
        for (organization, role), masked in product(VIEWERS, (True, False)):
            user = world.user(organization, role)
            for document in CORRUPT_OPTIONS:
                short, general = await both(user, document, {}, masked=masked)
                assert short == general


EXPORT_UPDATED = """
subscription ($id: ID!) {
  exportUpdated(id: $id) {
    __typename id list status rowCount fileName createdAt
    progress { rowsWritten rowsExpected }
    requestedBy { email roles organization { slug } }
  }
}
"""


async def events(schema: Any, user: User, export_id: str) -> str:
    viewer = await viewer_for(user)
    context = Context(
        viewer=viewer, loaders=build_loaders(viewer), token=None, exports=export_service()
    )
    results = await schema.subscribe(
        EXPORT_UPDATED, variable_values={"id": export_id}, context_value=context
    )
    assert not isinstance(results, Exception)
    received = [
        {"data": result.data, "errors": [error.formatted for error in result.errors or []]}
        async for result in results
    ]
    return json.dumps(received, default=str, ensure_ascii=False)


async def test_subscription_events_match_on_both_paths(fixtures: Fixtures) -> None:
    admin = fixtures.world.user("alpine", Role.ADMIN)
    await Export.all().update(status=ExportStatus.DONE, rows_written=3, rows_expected=3)
    for user in (admin, fixtures.world.user("lakeside", Role.ADMIN)):
        short = await events(SCHEMA, user, fixtures.variables["export"])
        general = await events(GENERAL, user, fixtures.variables["export"])
        assert short == general


def http_client(monkeypatch: pytest.MonkeyPatch, *, general: bool) -> httpx.AsyncClient:
    """A client of the app, whose schema takes graphql-core's path when `general` is true."""

    def schema_on_the_path(*args: Any, **kwargs: Any) -> Any:
        built = build_schema(*args, **kwargs)
        if general:
            built.execution_context_class = StrawberryGraphQLCoreExecutionContext
        return built

    monkeypatch.setattr(api.app, "build_schema", schema_on_the_path)
    app = create_app(Settings(env=Environment.TEST), manage_database=False)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://tourdesk.test")


async def test_http_responses_match_on_both_paths(
    fixtures: Fixtures, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_client = http_client(monkeypatch, general=False)
    general_client = http_client(monkeypatch, general=True)
    documents = ["bookings", "aliases and merged selections", "skip and include", "guest node"]
    async with short_client, general_client:
        for organization, role in [("alpine", Role.ADMIN), ("alpine", Role.GUIDE)]:
            user = fixtures.world.user(organization, role)
            signed_in = await sign_in(user.email, PASSWORD, token_ttl=timedelta(hours=1))
            headers = {"Authorization": f"Bearer {signed_in.token}"}
            for name in documents:
                body = {"query": DOCUMENTS[name], "variables": fixtures.variables}
                short = await short_client.post("/graphql", json=body, headers=headers)
                general = await general_client.post("/graphql", json=body, headers=headers)
                assert (short.status_code, short.text) == (general.status_code, general.text)


async def test_concurrent_queries_match_sequential_ones(fixtures: Fixtures) -> None:
    runs = [
        (fixtures.world.user(organization, role), document)
        for organization, role in VIEWERS
        for document in (DOCUMENTS["bookings"], DOCUMENTS["guests"], DOCUMENTS["guest node"])
    ]
    sequential = [
        await response(SCHEMA, user, document, fixtures.variables) for user, document in runs
    ]
    concurrent = await asyncio.gather(
        *(response(SCHEMA, user, document, fixtures.variables) for user, document in runs)
    )
    assert list(concurrent) == sequential
