"""Benchmark: a page of 100 bookings with their buyer, guests, departure and activity.

    python bench/nested_page.py --backend sqlite --bookings 4300
    python bench/nested_page.py --database-url sqlite:///path/to/guests.sqlite3
    python bench/nested_page.py --database-url postgres://postgres@127.0.0.1:5432/DATABASE

Without `--database-url` the data comes from `tourdesk seed --bookings N --seed S`, kept between
runs under bench/var/ or in the PostgreSQL database `tourdesk_bench_N_S`, as in export_guests.py.

The page runs in-process through the schema the server builds, with the same extensions, guard
rails and error masking as production. Its context is built as the GraphQL view builds it, and its
result is encoded to JSON as the view does. The viewer is built once, before the runs, because
authentication is the same for every operation; its statements are counted separately.

The reference fetches the same rows with hand-written SQL through the database driver (aiosqlite
or asyncpg, on one open connection) and builds the same JSON with dicts and orjson. The benchmark
checks that both produce the same bytes before it times them. Runs alternate between the two, so
both see the same machine load.
"""

import argparse
import asyncio
import base64
import logging
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from export_guests import prepare  # noqa: E402

DOCUMENT = """
query BookingsPage($first: Int!) {
  bookings(first: $first) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      reference
      status
      channel
      createdAt
      cancelledAt
      total { amount currency }
      buyer { firstName lastName email phone country language marketingConsent }
      departure {
        id
        startsAt
        endsAt
        tripDate
        capacity
        activity { id name description }
      }
      guests { id firstName lastName email phone category checkedInAt checkedIn }
    }
  }
}
"""

# The page of bookings is chosen first and joined afterwards, so that only its rows are joined.
PAGE_SQL = """
SELECT b.id, b.reference, b.status, b.channel, b.created_at, b.cancelled_at, b.total_amount,
       b.currency, u.first_name, u.last_name, u.email, u.phone, u.country, u.language,
       u.marketing_consent, d.id, d.starts_at, d.ends_at, d.starts_on, d.capacity, a.id, a.name,
       a.description
FROM booking b
JOIN departure d ON d.id = b.departure_id
JOIN activity a ON a.id = d.activity_id
LEFT JOIN buyer u ON u.booking_id = b.id
WHERE b.id IN (
    SELECT id FROM booking
    WHERE seller_id = {organization}
    ORDER BY created_at DESC, id DESC
    LIMIT {limit}
)
ORDER BY b.created_at DESC, b.id DESC
"""

GUESTS_SQL = """
SELECT id, booking_id, first_name, last_name, email, phone, category, checked_in_at
FROM guest
WHERE booking_id IN ({bookings})
ORDER BY booking_id, position, id
"""


def global_id(type_name: str, pk: int) -> str:
    raw = f"{type_name}:{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class Reference:
    """The page built by hand from raw driver rows: what the GraphQL layer is measured against."""

    def __init__(self, url: str, organization_id: int) -> None:
        self.url = url
        self.organization_id = organization_id
        self.is_postgres = url.startswith("postgres")
        self.connection: Any = None

    async def open(self) -> None:
        if self.is_postgres:
            import asyncpg

            self.connection = await asyncpg.connect(url_for_driver(self.url))
        else:
            import aiosqlite

            self.connection = await aiosqlite.connect(self.url.removeprefix("sqlite://"))

    async def close(self) -> None:
        await self.connection.close()

    async def fetch(self, sql: str, parameters: list[Any]) -> list[Any]:
        if self.is_postgres:
            return list(await self.connection.fetch(sql, *parameters))
        async with self.connection.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    def placeholders(self, count: int, start: int = 1) -> str:
        if self.is_postgres:
            return ", ".join(f"${index}" for index in range(start, start + count))
        return ", ".join("?" * count)

    async def page(self, size: int) -> bytes:
        page_sql = PAGE_SQL.format(organization=self.placeholders(1), limit=self.placeholders(1, 2))
        rows = await self.fetch(page_sql, [self.organization_id, size + 1])
        has_next_page = len(rows) > size
        rows = rows[:size]

        guests_sql = GUESTS_SQL.format(bookings=self.placeholders(len(rows)) or "NULL")
        guests: dict[int, list[dict[str, Any]]] = {row[0]: [] for row in rows}
        for guest in await self.fetch(guests_sql, [row[0] for row in rows]):
            guests[guest[1]].append(self.guest(guest))

        nodes = [self.booking(row, guests[row[0]]) for row in rows]
        end_cursor = self.cursor(rows[-1]) if rows else None
        page_info = {"hasNextPage": has_next_page, "endCursor": end_cursor}
        return orjson.dumps({"data": {"bookings": {"pageInfo": page_info, "nodes": nodes}}})

    def booking(self, row: Any, guests: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": global_id("Booking", row[0]),
            "reference": row[1],
            "status": row[2],
            "channel": row[3],
            "createdAt": self.instant(row[4]),
            "cancelledAt": self.instant(row[5]) if row[5] is not None else None,
            "total": {"amount": self.amount(row[6]), "currency": row[7]},
            "buyer": {
                "firstName": row[8],
                "lastName": row[9],
                "email": row[10],
                "phone": row[11],
                "country": row[12],
                "language": row[13],
                "marketingConsent": bool(row[14]),
            },
            "departure": {
                "id": global_id("Departure", row[15]),
                "startsAt": self.instant(row[16]),
                "endsAt": self.instant(row[17]),
                "tripDate": self.day(row[18]),
                "capacity": row[19],
                "activity": {
                    "id": global_id("Activity", row[20]),
                    "name": row[21],
                    "description": row[22],
                },
            },
            "guests": guests,
        }

    def guest(self, row: Any) -> dict[str, Any]:
        return {
            "id": global_id("Guest", row[0]),
            "firstName": row[2],
            "lastName": row[3],
            "email": row[4],
            "phone": row[5],
            "category": row[6],
            "checkedInAt": self.instant(row[7]) if row[7] is not None else None,
            "checkedIn": row[7] is not None,
        }

    def cursor(self, row: Any) -> str:
        raw = orjson.dumps(["booking.created_at desc", self.instant(row[4]), row[0]])
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @staticmethod
    def instant(value: datetime | str) -> str:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.isoformat()

    @staticmethod
    def day(value: date | str) -> str:
        return value if isinstance(value, str) else value.isoformat()

    @staticmethod
    def amount(value: Decimal | str | float) -> str:
        return str(Decimal(str(value)).quantize(Decimal("0.01")))


def url_for_driver(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


class StatementCounter(logging.Handler):
    """Count the SQL statements Tortoise sends, from its debug log, as the tests do."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(("Created connection", "Closed connection")):
            self.statements.append(message)


async def count_statements(run: Callable[[], Awaitable[Any]]) -> list[str]:
    counter = StatementCounter()
    client_logger = logging.getLogger("tortoise.db_client")
    previous_level = client_logger.level
    client_logger.setLevel(logging.DEBUG)
    client_logger.addHandler(counter)
    try:
        await run()
    finally:
        client_logger.removeHandler(counter)
        client_logger.setLevel(previous_level)
    return counter.statements


async def timed(run: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Return the wall-clock and CPU seconds of `run`; CPU time counts every thread, as
    aiosqlite's, and suffers less from other processes on the machine."""
    started = time.perf_counter()
    started_cpu = time.process_time()
    await run()
    return time.perf_counter() - started, time.process_time() - started_cpu


def summary(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.9)]


async def measure(arguments: argparse.Namespace, url: str) -> None:
    from tortoise import Tortoise

    from api.gc_tuning import tune_garbage_collector
    from api.logs import OperationNameExtension
    from api.metrics import MetricsExtension
    from models.commands.auth import viewer_for_user
    from models.config import tortoise_config
    from models.users import User
    from schema.context import Context
    from schema.dataloaders import build_loaders
    from schema.schema import GuardRails, build_schema

    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    schema = build_schema(
        GuardRails(mask_unexpected_errors=True),
        observers=[MetricsExtension, OperationNameExtension],
    )
    user = await User.get_or_none(email=arguments.email)
    if user is None:
        raise SystemExit(f"{arguments.email} is not a user of {url}; seed the database again.")

    viewer_statements: list[str] = []

    async def sign_in() -> Any:
        return await viewer_for_user(user.id)

    viewer_statements = await count_statements(sign_in)
    viewer = await sign_in()
    if viewer is None:
        raise SystemExit(f"{arguments.email} is not active; seed the database again.")
    variables = {"first": arguments.page_size}

    async def graphql_page() -> bytes:
        context = Context(viewer=viewer, loaders=build_loaders(viewer))
        result = await schema.execute(DOCUMENT, variable_values=variables, context_value=context)
        if result.errors:
            raise SystemExit(f"The page failed: {[error.formatted for error in result.errors]}")
        return orjson.dumps({"data": result.data})

    reference = Reference(url, viewer.organization_id)
    await reference.open()

    async def reference_page() -> bytes:
        return await reference.page(arguments.page_size)

    expected = await reference_page()
    received = await graphql_page()
    if received != expected:
        output = ROOT / "bench" / "var"
        output.mkdir(parents=True, exist_ok=True)
        (output / "nested_page_expected.json").write_bytes(expected)
        (output / "nested_page_received.json").write_bytes(received)
        raise SystemExit(
            f"The GraphQL page and the reference differ; compare nested_page_received.json "
            f"with nested_page_expected.json in {output}."
        )
    statements = await count_statements(graphql_page)

    if arguments.gc_freeze:
        tune_garbage_collector()
    for _ in range(arguments.warmup):
        await graphql_page()
        await reference_page()

    graphql_seconds: list[tuple[float, float]] = []
    reference_seconds: list[tuple[float, float]] = []
    for _ in range(arguments.runs):
        graphql_seconds.append(await timed(graphql_page))
        reference_seconds.append(await timed(reference_page))

    if arguments.profile:
        await profile(graphql_page, arguments.profile, arguments.profile_sort)

    await reference.close()
    await Tortoise.close_connections()
    report(arguments, url, received, graphql_seconds, reference_seconds, statements)
    print(f"viewer (sign-in, not timed above): {len(viewer_statements)} SQL statements")


async def profile(run: Callable[[], Awaitable[Any]], runs: int, sort: str = "tottime") -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        await run()
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats(sort)
    stats.print_stats(30)
    stats.print_callers("visitor.py.*visit")


def report(
    arguments: argparse.Namespace,
    url: str,
    page: bytes,
    graphql_seconds: list[tuple[float, float]],
    reference_seconds: list[tuple[float, float]],
    statements: list[str],
) -> None:
    data = orjson.loads(page)["data"]["bookings"]["nodes"]
    guests = sum(len(node["guests"]) for node in data)
    graphql_median, graphql_p90 = summary([wall for wall, _ in graphql_seconds])
    reference_median, reference_p90 = summary([wall for wall, _ in reference_seconds])
    graphql_cpu, _ = summary([cpu for _, cpu in graphql_seconds])
    reference_cpu, _ = summary([cpu for _, cpu in reference_seconds])
    backend = "postgres" if url.startswith("postgres") else "sqlite"
    print(f"backend: {backend}, database: {url.rsplit('/', 1)[-1]}")
    print(
        f"page: {len(data)} bookings, {guests} guests, {len(page):,} bytes of JSON; "
        f"{arguments.runs} runs after {arguments.warmup} warm-up runs"
    )
    print(
        f"graphql:   median {graphql_median * 1e3:.2f} ms, p90 {graphql_p90 * 1e3:.2f} ms, "
        f"median CPU {graphql_cpu * 1e3:.2f} ms"
    )
    print(
        f"reference: median {reference_median * 1e3:.2f} ms, p90 {reference_p90 * 1e3:.2f} ms, "
        f"median CPU {reference_cpu * 1e3:.2f} ms"
    )
    print(
        f"ratio of medians: {graphql_median / reference_median:.1f} wall-clock, "
        f"{graphql_cpu / reference_cpu:.1f} CPU"
    )
    print(f"SQL statements per page: {len(statements)}")
    if arguments.show_sql:
        for statement in statements:
            print(f"  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="Use this database instead of seeding one.")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--bookings", type=int, default=4300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--email", default="admin@alpine.example", help="The viewer.")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="Leave the start-up objects to the cyclic GC, unlike the server.",
    )
    parser.add_argument("--profile", type=int, default=0, help="cProfile this many more pages.")
    parser.add_argument("--profile-sort", default="tottime", help="pstats sort key.")
    parser.add_argument("--show-sql", action="store_true", help="Print the page's statements.")
    arguments = parser.parse_args()

    url = arguments.database_url or prepare(arguments.backend, arguments.bookings, arguments.seed)
    asyncio.run(measure(arguments, url))


if __name__ == "__main__":
    main()
