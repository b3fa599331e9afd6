"""The readiness checks and gauge refreshers of shared.observability against
the session's PostgreSQL and Kafka."""

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from faststream.kafka import KafkaBroker

from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.devstack.ports import free_port
from shared.observability import (
    CONSUMER_LAG,
    OUTBOX_BACKLOG,
    broker_check,
    consumer_lag_refresher,
    database_check,
    outbox_backlog_refresher,
)
from shared.outbox import enqueue_payloads

pytestmark = pytest.mark.integration


async def test_database_check_passes_on_real_pool(fresh_database_url) -> None:
    pool = await create_pool(fresh_database_url, "public", min_size=1, max_size=1)
    try:
        await database_check(lambda: pool)()
    finally:
        await pool.close()


async def test_database_check_fails_on_closed_pool(fresh_database_url) -> None:
    pool = await create_pool(fresh_database_url, "public", min_size=1, max_size=1)
    await pool.close()

    with pytest.raises(asyncpg.InterfaceError):
        await database_check(lambda: pool)()


async def test_broker_check_passes_on_started_broker(local_stack) -> None:
    broker = KafkaBroker(local_stack.kafka_bootstrap_servers, logger=None)
    await broker.start()
    try:
        await broker_check(lambda: broker)()
    finally:
        await broker.stop()


async def test_broker_check_fails_without_broker() -> None:
    # Nothing listens on a port just found free, so the connection is refused.
    broker = KafkaBroker(f"127.0.0.1:{free_port()}", logger=None)

    with pytest.raises(ConnectionError, match="no metadata"):
        await broker_check(lambda: broker, timeout_seconds=0.5)()


async def test_outbox_backlog_counts_unpublished_events(fresh_database_url) -> None:
    await apply_migrations(fresh_database_url, "links", SHARED_MIGRATIONS)
    pool = await create_pool(fresh_database_url, "links", min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            for published in (False, False, True):
                await connection.execute(
                    "INSERT INTO outbox (event_id, topic, key, type, payload,"
                    " headers, published_at) VALUES ($1, 't', 'k', 'x', '{}', '{}',"
                    " CASE WHEN $2 THEN now() END)",
                    uuid.uuid4(),
                    published,
                )
            await enqueue_payloads(
                connection,
                [("t", f"k{number}", "x", "{}") for number in range(3)],
                source="tests",
            )
        schema = f"ops_{uuid.uuid4().hex[:8]}"

        await outbox_backlog_refresher(lambda: pool, schema)()
    finally:
        await pool.close()

    assert OUTBOX_BACKLOG.labels(schema=schema)._value.get() == 5


async def test_consumer_lag_is_end_minus_committed(local_stack) -> None:
    servers = local_stack.kafka_bootstrap_servers
    topic = f"ops-lag-{uuid.uuid4().hex}"
    group = f"ops-group-{uuid.uuid4().hex}"
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        for number in range(5):
            await producer.send_and_wait(
                topic, b"event", partition=0, key=b"%d" % number
            )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        # Receiving a message shows the group has assigned the partition,
        # which a commit requires.
        await asyncio.wait_for(consumer.getone(), timeout=30)
        await consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "")})
    finally:
        await consumer.stop()

    await consumer_lag_refresher(servers, [group])()

    lag = CONSUMER_LAG.labels(group=group, topic=topic, partition="0")._value.get()
    assert lag == 3
