"""The links process: Kafka consumers, the outbox relay and the internal HTTP
API, sharing one connection pool."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.links import api
from services.links.consumers import register_consumers
from services.links.settings import Settings
from shared.db import create_pool
from shared.logging import get_logger
from shared.outbox import OutboxRelay

logger = get_logger(__name__)

SCHEMA = "links"


def create_app(settings: Settings) -> FastAPI:
    """Build the application; connections open when its lifespan starts."""
    broker = KafkaBroker(settings.kafka_bootstrap_servers, logger=None)
    app = FastAPI(
        title="EduConnect links (internal)",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.broker = broker
    register_consumers(broker, lambda: app.state.pool)

    app.include_router(api.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Return 200 while the process is up."""
        return {"status": "ok"}

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.pool = await create_pool(settings.database_url, SCHEMA)
    relay = OutboxRelay(app.state.pool, settings.kafka_bootstrap_servers, schema=SCHEMA)
    await relay.start()
    await app.state.broker.start()
    logger.info("links_started")
    try:
        yield
    finally:
        await app.state.broker.stop()
        await relay.stop()
        await app.state.pool.close()
        logger.info("links_stopped")
