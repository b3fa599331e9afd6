"""The outbox relay against the session's PostgreSQL and Kafka."""

import json
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from shared.contracts import Topic
from shared.contracts.events import ResponsableRemoved
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.outbox import OutboxRelay, enqueue

pytestmark = pytest.mark.integration


def removal(academie: str) -> ResponsableRemoved:
    return ResponsableRemoved(
        academie=academie, responsable_id="siecle:1", source="siecle"
    )


async def test_relay_sets_aside_event_too_large_for_kafka(
    fresh_database_url, local_stack
):
    await apply_migrations(fresh_database_url, "outbox_test", SHARED_MIGRATIONS)
    pool = await create_pool(fresh_database_url, "outbox_test")
    try:
        async with pool.acquire() as connection, connection.transaction():
            for event in (removal("x" * 2_000_000), removal("versailles")):
                await enqueue(
                    connection,
                    topic=Topic.RESPONSABLES,
                    key="siecle:1",
                    event=event,
                    source="tests",
                )
        relay = OutboxRelay(
            pool, local_stack.kafka_bootstrap_servers, schema="outbox_test"
        )
        await relay.start()
        try:
            published = await relay.drain()
        finally:
            await relay.stop()

        rows = await pool.fetch(
            "SELECT published_at IS NOT NULL AS published,"
            " failed_at IS NOT NULL AS failed, failure FROM outbox ORDER BY id"
        )
    finally:
        await pool.close()

    assert published == 1
    assert [(row["published"], row["failed"]) for row in rows] == [
        (False, True),
        (True, False),
    ]
    assert "MessageSizeTooLarge" in rows[0]["failure"]


async def test_migrations_apply_once(fresh_database_url):
    first = await apply_migrations(fresh_database_url, "again", SHARED_MIGRATIONS)
    second = await apply_migrations(fresh_database_url, "again", SHARED_MIGRATIONS)

    assert "000_outbox_failures.sql" in first
    assert second == []
    connection = await asyncpg.connect(fresh_database_url)
    try:
        columns = await connection.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = 'again' AND table_name = 'outbox'"
        )
    finally:
        await connection.close()
    assert {"failed_at", "failure"} <= {row["column_name"] for row in columns}


async def test_relay_keeps_order_across_full_batches(fresh_database_url, local_stack):
    # Batches of 1 KB hold a few events each, so the relay fills and sends
    # many batches for one key.
    topic = f"outbox-order-{uuid.uuid4().hex}"
    local_stack.kafka.create_topics([topic], partitions=3)
    await apply_migrations(fresh_database_url, "outbox_order", SHARED_MIGRATIONS)
    pool = await create_pool(fresh_database_url, "outbox_order")
    academies = [f"academie-{number:03d}" for number in range(60)]
    try:
        async with pool.acquire() as connection, connection.transaction():
            for academie in academies:
                await enqueue(
                    connection,
                    topic=topic,
                    key="siecle:1",
                    event=removal(academie),
                    source="tests",
                )
        relay = OutboxRelay(
            pool,
            local_stack.kafka_bootstrap_servers,
            schema="outbox_order",
            max_batch_bytes=1024,
        )
        await relay.start()
        try:
            published = await relay.drain()
        finally:
            await relay.stop()
    finally:
        await pool.close()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=local_stack.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        received = []
        while len(received) < len(academies):
            batches = await consumer.getmany(timeout_ms=10_000)
            if not batches:
                break
            for records in batches.values():
                received.extend(
                    json.loads(record.value)["academie"] for record in records
                )
    finally:
        await consumer.stop()

    assert published == len(academies)
    assert received == academies
