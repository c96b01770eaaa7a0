"""Health checks: `/healthz` reports that the process runs, `/readyz` that it can serve requests."""

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from tortoise import connections
from tortoise.migrations.executor import MigrationExecutor

from api.database import DATABASE_ERRORS

logger = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def pending_migrations(apps_config: dict[str, Any]) -> list[str]:
    """Return the migrations in the code that the database has not applied, as `app.name`."""
    executor = MigrationExecutor(connections.get("default"), apps_config)
    plan = await executor.plan()
    return [f"{step.migration.app_label}.{step.migration.name}" for step in plan]


class Readiness:
    """`/readyz`: 200 when the database responds and has every migration, else 503 with a reason.

    Only changes between ready and not ready are logged, because load balancers ask every few
    seconds.
    """

    def __init__(self, apps_config: dict[str, Any]) -> None:
        self.apps_config = apps_config
        self.last_reason: str | None = None

    async def endpoint(self, request: Request) -> JSONResponse:
        reason = await self.unready_reason()
        if reason != self.last_reason:
            if reason is None:
                logger.info("Ready: the database responds and is migrated")
            else:
                logger.warning("Not ready: %s", reason)
            self.last_reason = reason
        if reason is None:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)

    async def unready_reason(self) -> str | None:
        try:
            await connections.get("default").execute_query("SELECT 1")
        except DATABASE_ERRORS as error:
            logger.debug("Readiness query failed", exc_info=True)
            return f"The database does not respond: {type(error).__name__}."
        try:
            pending = await pending_migrations(self.apps_config)
        except DATABASE_ERRORS as error:
            logger.debug("Reading the applied migrations failed", exc_info=True)
            return f"The applied migrations could not be read: {type(error).__name__}."
        if pending:
            return (
                f"The database lacks {len(pending)} migration(s): {', '.join(pending)}. "
                "Run `tourdesk migrate`."
            )
        return None
