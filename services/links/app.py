"""The links process: Kafka consumers, the outbox relay and the internal HTTP
API, sharing one connection pool."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.links import api, openapi
from services.links.consumers import register_consumers
from services.links.publishers import register_publishers
from services.links.settings import Settings
from shared.db import create_pool
from shared.logging import get_logger
from shared.observability import (
    broker_check,
    consumer_lag_refresher,
    database_check,
    instrument_app,
    observability_router,
    outbox_backlog_refresher,
)
from shared.outbox import OutboxRelay

logger = get_logger(__name__)

SCHEMA = "links"
# Events the relay reads per transaction; an import's link events share
# outbox rows.
RELAY_BATCH_SIZE = 10_000
RELAY_KAFKA_BATCH_BYTES = 256 * 1024


def create_app(settings: Settings) -> FastAPI:
    """Build the application; connections open when its lifespan starts."""
    broker = KafkaBroker(settings.kafka_bootstrap_servers, logger=None)
    app = FastAPI(
        title=openapi.TITLE,
        version=openapi.VERSION,
        description=api.__doc__,
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.broker = broker
    register_consumers(broker, lambda: app.state.pool, group_id=settings.consumer_group)
    register_publishers(broker)

    app.include_router(api.router)

    instrument_app(app)
    app.include_router(
        observability_router(
            checks={
                "database": database_check(lambda: app.state.pool),
                "broker": broker_check(lambda: app.state.broker),
            },
            refreshers=[
                outbox_backlog_refresher(lambda: app.state.pool, SCHEMA),
                consumer_lag_refresher(
                    settings.kafka_bootstrap_servers, [settings.consumer_group]
                ),
            ],
        )
    )

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.pool = await create_pool(settings.database_url, SCHEMA)
    # A full import makes a link.proposed per link, hundreds of thousands for
    # an académie: larger batches cost fewer round trips to both servers.
    relay = OutboxRelay(
        app.state.pool,
        settings.kafka_bootstrap_servers,
        schema=SCHEMA,
        batch_size=RELAY_BATCH_SIZE,
        max_batch_bytes=RELAY_KAFKA_BATCH_BYTES,
    )
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
