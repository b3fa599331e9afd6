"""Fixtures of the notifier's integration tests: a migrated database of its
own per test, a pool on the notifier schema and a Kafka producer, all on the
session's local stack (see tests/conftest.py)."""

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer

from services.notifier.__main__ import MIGRATIONS
from services.notifier.app import SCHEMA
from shared.contracts import Topic
from shared.contracts.topics import LINK_BATCH_TYPE
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.kafka import cloudevent_headers


@pytest.fixture
async def notifier_database_url(fresh_database_url):
    await apply_migrations(fresh_database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS)
    return fresh_database_url


@pytest.fixture
async def pool(notifier_database_url):
    pool = await create_pool(notifier_database_url, SCHEMA)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def producer(local_stack):
    producer = AIOKafkaProducer(
        bootstrap_servers=local_stack.kafka_bootstrap_servers, acks="all"
    )
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def publish_link_event(producer, event, event_id):
    """Publish ``event`` on the links topic as the links service's outbox
    relay does, alone in its batch, with ``event_id`` as its ``ce_id``."""
    headers = cloudevent_headers(
        event,
        source="links",
        subject=event.eleve_id,
        correlation_id="notifier-integration-test",
        event_id=event_id,
    )
    headers["ce_type"] = LINK_BATCH_TYPE
    await producer.send_and_wait(
        Topic.LINKS,
        value=f"[{event.model_dump_json()}]".encode(),
        key=event.eleve_id.encode(),
        headers=[(name, value.encode()) for name, value in headers.items()],
    )


async def wait_until(
    condition: Callable[[], Awaitable[bool]], *, seconds: float, what: str
) -> None:
    """Poll ``condition`` until it holds; fail the test after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)
