"""The GraphiQL page at `GET /graphql`, built from files this package ships, so it works offline.

GraphiQL and React are copied into `api/static/graphiql/` by `scripts/vendor-graphiql.sh`; the
page's own script, `api/static/tourdesk-graphiql.js`, adds a sign-in bar and example documents.
"""

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from api.seeding.layout import DEMO_PASSWORD

STATIC_DIR = Path(__file__).parent / "static"

# The admin of the supplier Alpine Adventures that `tourdesk seed --demo` creates.
DEMO_ADMIN_EMAIL = "admin@alpine.example"

# Scripts, styles, fonts and connections come from this origin only. GraphiQL 3.8.3 injects a
# `<style>` element when its settings dialog opens, so styles also need 'unsafe-inline'.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

BOOKINGS_PAGE = """\
# A page of bookings with their departure, buyer, total and guests.
# For the next page, set $after to pageInfo.endCursor.
query BookingsPage($first: Int = 20, $after: String) {
  bookings(first: $first, after: $after, filter: {includePartners: true}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      reference
      status
      createdAt
      seller { name }
      departure { startsAt activity { name } }
      buyer { firstName lastName email }
      total { amount currency }
      guests { firstName lastName category answers { key value } }
    }
  }
}
"""

GUESTS_LIST = """\
# Guests of confirmed bookings on upcoming trips, by trip start.
# Change the filter in the variables: search, status, category, checkedIn, departure...
query GuestsList($filter: GuestFilterInput, $first: Int = 50) {
  guests(first: $first, filter: $filter, orderBy: {field: TRIP_START, direction: ASC}) {
    totalCount
    nodes {
      firstName
      lastName
      category
      checkedIn
      answers { key value }
      booking { reference departure { startsAt activity { name } } }
    }
  }
}
"""

CREATE_EXPORT = """\
# Export the guests list as CSV. A small export comes back DONE with a download url.
# A larger one comes back QUEUED or RUNNING: read node(id:) with its id until it is DONE.
mutation CreateExport($input: CreateExportInput!) {
  createExport(input: $input) {
    export { id status rowCount fileName url expiresAt }
    errors { field code message }
  }
}
"""


@dataclass(frozen=True, slots=True)
class Example:
    """A saved document that the page opens in a tab and lists in its Examples pane."""

    title: str
    description: str
    query: str
    # JSON text for the variables editor.
    variables: str


def examples(today: date) -> list[Example]:
    """Return the example documents, with date filters starting at `today`."""
    upcoming = {"tripDate": {"from": today.isoformat()}, "status": ["CONFIRMED"]}
    return [
        Example(
            title="Bookings page",
            description="Nested page of bookings: departure, buyer, total, guests, answers.",
            query=BOOKINGS_PAGE,
            # GraphiQL 3.8.3 leaves the variables editor of the first tab empty on a first visit,
            # so this document relies on its variables' defaults.
            variables="",
        ),
        Example(
            title="Guests list with filters",
            description="Guests of confirmed bookings on upcoming trips.",
            query=GUESTS_LIST,
            variables=_json({"filter": {**upcoming, "includePartners": True}}),
        ),
        Example(
            title="Export guests as CSV",
            description="createExport for the same guests; the result has a download URL.",
            query=CREATE_EXPORT,
            variables=_json({"input": {"list": "GUESTS", "filter": upcoming}}),
        ),
    ]


def render_graphiql_page() -> HTMLResponse:
    """Return the GraphiQL page; the sign-in bar starts filled in with the demo admin."""
    config = {
        "signIn": {"email": DEMO_ADMIN_EMAIL, "password": DEMO_PASSWORD},
        "examples": [asdict(example) for example in examples(datetime.now(UTC).date())],
    }
    html = PAGE.replace("{config}", _script_json(config))
    return HTMLResponse(html, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


def graphiql_routes() -> list[BaseRoute]:
    """Return the route of the page's scripts and styles, which are under `/static/`."""
    return [Mount("/static", StaticFiles(directory=STATIC_DIR), name="static")]


def _json(value: object) -> str:
    return json.dumps(value, indent=2)


def _script_json(value: object) -> str:
    # Inside <script>, "</script>" ends the element even within a JSON string, so every "<" is
    # written as the JSON escape \u003c.
    return json.dumps(value).replace("<", "\\u003c")


# Paths are relative to /graphql, so the page also works when the app is mounted under a prefix.
PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tourdesk · GraphiQL</title>
<link rel="stylesheet" href="static/graphiql/graphiql.min.css">
<link rel="stylesheet" href="static/tourdesk-graphiql.css">
<script type="application/json" id="tourdesk-graphiql-config">{config}</script>
</head>
<body>
<div id="tourdesk-graphiql">Loading GraphiQL…</div>
<script src="static/graphiql/react.production.min.js"></script>
<script src="static/graphiql/react-dom.production.min.js"></script>
<script src="static/graphiql/graphiql.min.js"></script>
<script src="static/tourdesk-graphiql.js"></script>
</body>
</html>
"""
