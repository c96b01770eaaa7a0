"""The Starlette application: GraphQL, export downloads, health checks, metrics and lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tortoise.contrib.starlette import RegisterTortoise

from api.database import config_for
from api.exports.download import download_endpoint
from api.exports.signing import UrlSigner
from api.exports.storage import LocalExportStorage
from api.exports.worker import ExportWorker
from api.gc_tuning import tune_garbage_collector
from api.graphiql import graphiql_routes
from api.graphql import ExportSettings, GraphQLApp
from api.health import Readiness, healthz
from api.logs import OperationNameExtension
from api.metrics import MetricsExtension, metrics_endpoint
from api.request_id import RequestIdMiddleware
from api.settings import Settings, get_settings, resolve_secret_key
from schema.schema import GuardRails, build_schema

logger = logging.getLogger(__name__)


async def home(request: Request) -> RedirectResponse:
    return RedirectResponse("/graphql")


def build_graphql_app(settings: Settings, exports: ExportSettings) -> GraphQLApp:
    schema = build_schema(
        GuardRails(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_cost=settings.max_query_cost,
            introspection=settings.introspection,
            mask_unexpected_errors=settings.is_production,
        ),
        observers=[MetricsExtension, OperationNameExtension],
    )
    return GraphQLApp(
        schema,
        token_ttl=timedelta(hours=settings.token_ttl_hours),
        exports=exports,
        graphql_ide="graphiql" if not settings.is_production else None,
        allow_queries_via_get=True,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=settings.allowed_origin_list,
    )


def create_app(
    settings: Settings | None = None,
    *,
    manage_database: bool = True,
    run_export_worker: bool = True,
) -> Starlette:
    """Build the app; with `manage_database` false the caller has initialised Tortoise itself."""
    settings = settings or get_settings()
    signer = UrlSigner(
        current_key=resolve_secret_key(settings),
        old_keys=settings.old_secret_key_list,
        ttl=settings.export_url_ttl,
    )
    storage = LocalExportStorage(settings.export_dir)
    worker = ExportWorker(
        storage,
        stale_after=settings.export_stale_after,
        sweep_interval=settings.export_sweep_interval,
    )
    exports = ExportSettings(
        signer=signer,
        retention=settings.export_retention,
        wait=settings.export_wait,
        worker=worker if run_export_worker and settings.export_worker else None,
    )
    config = config_for(settings)
    graphql_app = build_graphql_app(settings, exports)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tune_garbage_collector()
        if not manage_database:
            async with _running(exports.worker):
                yield
            return
        async with RegisterTortoise(app, config=config), _running(exports.worker):
            logger.info("tourdesk started in %s mode", settings.env.value)
            yield
        logger.info("tourdesk stopped")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/readyz", Readiness(config["apps"]).endpoint),
            Route("/metrics", metrics_endpoint),
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            # The GraphiQL page's scripts and styles; the page itself is off in production.
            *([] if settings.is_production else graphiql_routes()),
            Route(
                "/exports/{export_id:int}/download",
                download_endpoint(signer, storage),
                methods=["GET"],
            ),
        ],
        middleware=[Middleware(RequestIdMiddleware)],
        lifespan=lifespan,
    )


@asynccontextmanager
async def _running(worker: ExportWorker | None) -> AsyncIterator[None]:
    if worker is None:
        yield
        return
    await worker.start()
    try:
        yield
    finally:
        await worker.stop()
