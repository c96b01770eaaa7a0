"""The root schema: every domain's queries and mutations, with the guard rails around them."""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from models.postgres_pool import DatabaseBusy
from schema.auth.mutations import AuthMutations
from schema.bookings.mutations import BookingMutations
from schema.bookings.queries import BookingQueries
from schema.bookings.types import Booking
from schema.common import Organization
from schema.cost import cost_limit_rule
from schema.customers.queries import CustomerQueries
from schema.customers.types import Customer
from schema.departures.queries import DepartureQueries
from schema.departures.types import Activity, CustomFieldDefinition, Departure
from schema.errors import (
    DATABASE_UNAVAILABLE_MESSAGE,
    MaskUnexpectedErrors,
    is_database_unavailable,
    is_unexpected,
    tag_with_code,
)
from schema.execution import ShortPathExecutionContext
from schema.exports.mutations import ExportMutations
from schema.exports.queries import ExportQueries
from schema.exports.subscriptions import ExportSubscriptions
from schema.exports.types import Export
from schema.guests.mutations import GuestMutations
from schema.guests.queries import GuestQueries
from schema.guests.types import Guest
from schema.node import NodeQueries
from schema.outages import database_outages
from schema.users.mutations import UserMutations
from schema.users.queries import UserQueries
from schema.users.types import User

logger = logging.getLogger(__name__)


@strawberry.type(description="Reading tourdesk: every list and object a viewer may see.")
class Query(
    NodeQueries,
    UserQueries,
    BookingQueries,
    GuestQueries,
    CustomerQueries,
    DepartureQueries,
    ExportQueries,
):
    pass


@strawberry.type(description="Changing tourdesk: each mutation takes one `input` argument.")
class Mutation(AuthMutations, BookingMutations, GuestMutations, UserMutations, ExportMutations):
    pass


@strawberry.type(
    description=(
        "Changes pushed over a WebSocket (the graphql-transport-ws protocol) at `/graphql`."
    )
)
class Subscription(ExportSubscriptions):
    pass


NODE_TYPES = [
    Activity,
    Booking,
    Customer,
    CustomFieldDefinition,
    Departure,
    Export,
    Guest,
    Organization,
    User,
]


@dataclass(frozen=True, slots=True)
class GuardRails:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_cost: int = 50_000
    introspection: bool = True
    mask_unexpected_errors: bool = True


class TourdeskSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry calls this for every error before extensions run, so each error gets its
        # code here while its cause is still attached. Errors caused by the request are the
        # client's to fix; only bugs are worth a traceback in the log.
        operation_name = execution_context.operation_name if execution_context else None
        for error in errors:
            tag_with_code(error)
            original = error.original_error
            if is_database_unavailable(original) and not isinstance(original, DatabaseBusy):
                # The driver's message names hosts and sockets, while the client only needs to
                # know that a retry later helps. A busy pool's own message already states that.
                error.message = DATABASE_UNAVAILABLE_MESSAGE
                database_outages.record(f"operation {operation_name}", error.original_error)
            elif is_unexpected(error):
                logger.error(
                    "Unexpected error in operation %s",
                    operation_name,
                    exc_info=error.original_error,
                )


def build_schema(
    guard_rails: GuardRails | None = None,
    *,
    observers: Sequence[Callable[[], SchemaExtension]] = (),
) -> strawberry.Schema:
    """Build the schema; `observers` are extensions of the server, such as metrics and logs.

    Observers come first, so that they see every operation, including those the guard rails
    reject.
    """
    rails = guard_rails or GuardRails()
    # The rule classes are built once: the validation cache is keyed by them, and rules built
    # anew for each request would miss it every time.
    validation_rules = [
        *QueryDepthLimiter(max_depth=rails.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=rails.max_aliases).validation_rules,
        cost_limit_rule(rails.max_cost),
    ]
    # Factories, so that each request gets fresh extension instances; the parser and
    # validation caches are shared by maxsize inside Strawberry.
    extensions: list[Callable[[], SchemaExtension]] = [
        *observers,
        lambda: AddValidationRules(validation_rules),
        lambda: MaxTokensLimiter(max_token_count=rails.max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
    ]
    if rails.mask_unexpected_errors:
        extensions.append(MaskUnexpectedErrors)
    if not rails.introspection:
        extensions.append(DisableIntrospection)
    return TourdeskSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=NODE_TYPES,
        extensions=extensions,
        execution_context_class=ShortPathExecutionContext,
    )


schema = build_schema(GuardRails(mask_unexpected_errors=False))

__all__: list[Any] = ["GuardRails", "build_schema", "schema"]
