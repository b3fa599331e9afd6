"""The identity process: the front door's pages and the account provisioning
consumer."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from faststream.kafka import KafkaBroker

from services.identity import (
    account_pages,
    admin,
    creation_pages,
    email_change,
    grouping,
    recovery,
    sessions,
    web,
)
from services.identity.consumers import GROUP_ID, register_consumers
from services.identity.links_client import LinksClient
from services.identity.settings import Settings
from shared.db import create_pool
from shared.logging import get_logger
from shared.observability import (
    broker_check,
    consumer_lag_refresher,
    database_check,
    instrument_app,
    observability_router,
)
from shared.outbox import OutboxRelay

logger = get_logger(__name__)

SCHEMA = "identity"
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

SECURITY_HEADERS = {
    # The design system's stylesheet draws some controls with data: images.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def create_app(settings: Settings) -> FastAPI:
    """Build the application; connections open when its lifespan starts."""
    broker = KafkaBroker(settings.kafka_bootstrap_servers, logger=None)
    app = FastAPI(
        title="EduConnect",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.broker = broker
    register_consumers(broker, lambda: app.state.pool)

    app.mount(
        "/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="static",
    )
    app.include_router(web.router)
    app.include_router(account_pages.router)
    app.include_router(recovery.router)
    app.include_router(email_change.router)
    app.include_router(creation_pages.router)
    app.include_router(grouping.router)
    app.include_router(admin.router)
    web.register_error_pages(app)

    async def _store_session(current, token: str | None, response: Response):
        if current is None:
            response.delete_cookie(sessions.COOKIE_NAME, path="/")
            return
        await sessions.save(app.state.pool, current, settings.session_minutes)
        if current.token != token:
            response.set_cookie(
                sessions.COOKIE_NAME,
                current.token,
                max_age=settings.session_minutes * 60,
                path="/",
                secure=settings.cookie_secure,
                httponly=True,
                samesite="lax",
            )

    @app.middleware("http")
    async def session_and_headers(request: Request, call_next) -> Response:
        """Load or start the browser session, store it after the page, and
        add the security headers. Probes and static files get no session."""
        if request.url.path.startswith("/static") or request.url.path in PROBE_PATHS:
            return await call_next(request)

        pool = app.state.pool
        token = request.cookies.get(sessions.COOKIE_NAME)
        session = await sessions.load(pool, token) or await sessions.create(
            pool, settings.session_minutes
        )
        request.state.session = session

        response = await call_next(request)

        # keep_cookie is set when a form failed its CSRF check in a session
        # started by that very request: the browser's cookie, if any, may
        # hold a live session and is left as it was.
        if not getattr(request.state, "keep_cookie", False):
            await _store_session(request.state.session, token, response)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    # Added after the session middleware so that it runs outermost and binds
    # the correlation id before any session work is logged.
    instrument_app(app)
    app.include_router(
        observability_router(
            checks={
                "database": database_check(lambda: app.state.pool),
                "broker": broker_check(lambda: app.state.broker),
            },
            refreshers=[
                consumer_lag_refresher(settings.kafka_bootstrap_servers, [GROUP_ID])
            ],
        )
    )
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.pool = await create_pool(settings.database_url, SCHEMA)
    app.state.links = LinksClient(settings.links_url, settings.links_token)
    # Publishes the account messages (codes, reset and verification links)
    # that the pages write to identity's outbox.
    relay = OutboxRelay(app.state.pool, settings.kafka_bootstrap_servers, schema=SCHEMA)
    await relay.start()
    await app.state.broker.start()
    purge = asyncio.create_task(
        purge_expired_sessions(
            app.state.pool, timedelta(minutes=settings.session_purge_minutes)
        )
    )
    logger.info("identity_started")
    try:
        yield
    finally:
        purge.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await purge
        await app.state.broker.stop()
        await relay.stop()
        await app.state.links.close()
        await app.state.pool.close()
        logger.info("identity_stopped")


async def purge_expired_sessions(pool: asyncpg.Pool, interval: timedelta) -> None:
    """Delete the expired sessions now and then after every ``interval``, until
    cancelled; a failed round is logged and the next one tries again."""
    while True:
        try:
            deleted = await sessions.purge_expired(pool)
            logger.info("expired_sessions_purged", count=deleted)
        except (OSError, asyncpg.PostgresError) as exc:
            logger.warning("expired_sessions_purge_failed", error=repr(exc))
        await asyncio.sleep(interval.total_seconds())
