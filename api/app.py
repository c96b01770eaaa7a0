"""The Starlette application: GraphQL, health check and database lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from api.graphql import GraphQLApp
from api.settings import Settings, get_settings, resolve_secret_key
from models.config import tortoise_config
from schema.schema import GuardRails, build_schema

logger = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def home(request: Request) -> RedirectResponse:
    return RedirectResponse("/graphql")


def build_graphql_app(settings: Settings) -> GraphQLApp:
    schema = build_schema(
        GuardRails(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            introspection=settings.introspection,
            mask_unexpected_errors=settings.is_production,
        )
    )
    return GraphQLApp(
        schema,
        token_ttl=timedelta(hours=settings.token_ttl_hours),
        graphql_ide="graphiql" if not settings.is_production else None,
        allow_queries_via_get=True,
    )


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    """Build the app; with `manage_database` false the caller has initialised Tortoise itself."""
    settings = settings or get_settings()
    resolve_secret_key(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            yield
            return
        config = tortoise_config(
            settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        async with RegisterTortoise(app, config=config):
            logger.info("tourdesk started in %s mode", settings.env.value)
            yield
        logger.info("tourdesk stopped")

    graphql_app = build_graphql_app(settings)
    return Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )
