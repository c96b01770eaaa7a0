"""The Starlette application: GraphQL, export downloads, health check and lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from api.exports.download import download_endpoint
from api.exports.signing import UrlSigner
from api.exports.storage import LocalExportStorage
from api.exports.worker import ExportWorker
from api.graphql import ExportSettings, GraphQLApp
from api.settings import Settings, get_settings, resolve_secret_key
from models.config import tortoise_config
from schema.schema import GuardRails, build_schema

logger = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def home(request: Request) -> RedirectResponse:
    return RedirectResponse("/graphql")


def build_graphql_app(settings: Settings, exports: ExportSettings) -> GraphQLApp:
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
        exports=exports,
        graphql_ide="graphiql" if not settings.is_production else None,
        allow_queries_via_get=True,
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
        worker=worker if run_export_worker else None,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            async with _running(exports.worker):
                yield
            return
        config = tortoise_config(
            settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        async with RegisterTortoise(app, config=config), _running(exports.worker):
            logger.info("tourdesk started in %s mode", settings.env.value)
            yield
        logger.info("tourdesk stopped")

    return Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/graphql", build_graphql_app(settings, exports), methods=["GET", "POST"]),
            Route(
                "/exports/{export_id:int}/download",
                download_endpoint(signer, storage),
                methods=["GET"],
            ),
        ],
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
