"""The outbox relay against the session's PostgreSQL and Kafka."""

import json
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from shared.contracts import Topic
from shared.contracts.events import ResponsableRemoved
from shared.contracts.topics import BATCH_TYPE
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.kafka import key_partition
from shared.outbox import (
    BATCH_MAX_BYTES,
    GROUP_MAX_EVENTS,
    OutboxRelay,
    enqueue,
    enqueue_payloads,
)

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

    records = await consume_all(
        local_stack.kafka_bootstrap_servers, topic, len(academies)
    )
    received = [json.loads(record.value)["academie"] for record in records]

    assert published == len(academies)
    assert received == academies


async def migrated_pool(database_url: str, schema: str) -> asyncpg.Pool:
    """Apply the outbox migrations to ``schema`` and return a pool on it."""
    await apply_migrations(database_url, schema, SHARED_MIGRATIONS)
    return await create_pool(database_url, schema)


async def relay_all(pool, servers: str, schema: str, **options) -> None:
    """Publish every pending row of ``schema`` with a relay of ``options``."""
    relay = OutboxRelay(pool, servers, schema=schema, **options)
    await relay.start()
    try:
        await relay.drain()
    finally:
        await relay.stop()


async def consume_all(
    servers: str, topic: str, count: int, timeout_ms: int = 10_000
) -> list:
    """Return the first ``count`` messages of ``topic``, in partition order,
    or those that came until a poll found none within ``timeout_ms``."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        received = []
        while len(received) < count:
            batches = await consumer.getmany(timeout_ms=timeout_ms)
            if not batches:
                break
            for records in batches.values():
                received.extend(records)
    finally:
        await consumer.stop()
    return received


async def test_grouped_events_published_one_message_each(
    fresh_database_url, local_stack
):
    # Events of two topics, interleaved in runs a little longer than a row,
    # some keys repeated. Each run of one topic shares rows of at most
    # GROUP_MAX_EVENTS events. A relay batch of 700 events is smaller than a
    # full row.
    first = f"outbox-grouped-a-{uuid.uuid4().hex}"
    second = f"outbox-grouped-b-{uuid.uuid4().hex}"
    local_stack.kafka.create_topics([first, second], partitions=3)
    schema = "outbox_grouped"
    pool = await migrated_pool(fresh_database_url, schema)
    events = []
    run = GROUP_MAX_EVENTS + 200
    total = 2 * run + 100
    for number in range(total):
        topic = first if (number // run) % 2 == 0 else second
        payload = json.dumps({"n": number, "text": "é\u2028\r fin"}, ensure_ascii=False)
        events.append((topic, f"key-{number % 37}", f"type.{number % 3}", payload))
    try:
        async with pool.acquire() as connection, connection.transaction():
            written = await enqueue_payloads(connection, events, source="tests")
        rows = await pool.fetch("SELECT topic, message_count FROM outbox ORDER BY id")
        stored = await pool.fetch(
            "SELECT event_id, topic, key, type, payload::text AS payload"
            " FROM outbox_events ORDER BY id, position"
        )
        await relay_all(
            pool, local_stack.kafka_bootstrap_servers, schema, batch_size=700
        )
        pending = await pool.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        )
    finally:
        await pool.close()

    # The relay's background loop may publish some batches before drain().
    assert written == total
    assert pending == 0
    assert [(row["topic"], row["message_count"]) for row in rows] == [
        (first, GROUP_MAX_EVENTS),
        (first, 200),
        (second, GROUP_MAX_EVENTS),
        (second, 200),
        (first, 100),
    ]
    assert [
        (row["topic"], row["key"], row["type"], json.loads(row["payload"]))
        for row in stored
    ] == [
        (topic, key, kind, json.loads(payload)) for topic, key, kind, payload in events
    ]
    assert len({row["event_id"] for row in stored}) == total
    assert {row["event_id"].version for row in stored} == {4}

    ids = {row["event_id"]: row for row in stored}
    for topic in (first, second):
        records = await consume_all(
            local_stack.kafka_bootstrap_servers,
            topic,
            sum(1 for event in events if event[0] == topic),
        )
        received = []
        for record in records:
            headers = {name: value.decode() for name, value in record.headers}
            row = ids[uuid.UUID(headers["ce_id"])]
            assert headers["ce_type"] == row["type"]
            assert headers["ce_subject"] == record.key.decode() == row["key"]
            assert headers["ce_source"] == "tests"
            received.append((record.key.decode(), json.loads(record.value)["n"]))
        sent = [
            (key, json.loads(payload)["n"])
            for event_topic, key, _, payload in events
            if event_topic == topic
        ]
        assert sorted(received) == sorted(sent)
        # Each key's events arrive in the order they were written.
        for key in {key for key, _ in sent}:
            assert [n for k, n in received if k == key] == [
                n for k, n in sent if k == key
            ]


async def test_batched_topic_message_per_partition(fresh_database_url, local_stack):
    # 1,500 events of 40 keys, one in ten of 30,000 characters, so that a
    # partition's events of one row exceed BATCH_MAX_BYTES.
    topic = f"outbox-batched-{uuid.uuid4().hex}"
    local_stack.kafka.create_topics([topic], partitions=3)
    schema = "outbox_batched"
    pool = await migrated_pool(fresh_database_url, schema)
    events = [
        (
            topic,
            f"key-{number % 40}",
            "type.a",
            json.dumps(
                {"n": number, "text": "x" * (30_000 if number % 10 == 0 else 5)}
            ),
        )
        for number in range(1_500)
    ]
    options = {"batch_size": 1_000, "batch_types": {topic: BATCH_TYPE}}
    servers = local_stack.kafka_bootstrap_servers
    try:
        async with pool.acquire() as connection, connection.transaction():
            await enqueue_payloads(connection, events, source="tests")
        keys = {
            row["event_id"]: row["key"]
            for row in await pool.fetch("SELECT event_id, key FROM outbox_events")
        }
        await relay_all(pool, servers, schema, **options)
        # Published again, as by a relay that died before marking its rows.
        await pool.execute("UPDATE outbox SET published_at = NULL")
        await relay_all(pool, servers, schema, **options)
        records = await consume_all(servers, topic, 10**6, timeout_ms=3_000)
    finally:
        await pool.close()

    streams: dict[int, list] = {}
    for record in sorted(records, key=lambda record: (record.partition, record.offset)):
        streams.setdefault(record.partition, []).append(record)
    received = []
    for partition, stream in streams.items():
        half = len(stream) // 2
        # The second relay sent the same batches, with the same ids.
        assert [(record.value, record.headers) for record in stream[:half]] == [
            (record.value, record.headers) for record in stream[half:]
        ]
        for record in stream[:half]:
            headers = {name: value.decode() for name, value in record.headers}
            batch = json.loads(record.value)
            assert headers["ce_type"] == BATCH_TYPE
            assert keys[uuid.UUID(headers["ce_id"])] == record.key.decode()
            assert len(record.value) <= BATCH_MAX_BYTES or len(batch) == 1
            assert {
                key_partition(f"key-{event['n'] % 40}".encode(), [0, 1, 2])
                for event in batch
            } == {partition}
            received.extend(event["n"] for event in batch)
    assert len(streams) == 3
    assert len(records) < 2 * len(events) / 10
    assert max(len(record.value) for record in records) > BATCH_MAX_BYTES * 3 / 4
    # Every event once, each key's in the order they were written.
    for key in range(40):
        assert [n for n in received if n % 40 == key] == list(range(key, 1_500, 40))


async def test_oversize_grouped_event_set_aside_alone(fresh_database_url, local_stack):
    topic = f"outbox-alone-{uuid.uuid4().hex}"
    local_stack.kafka.create_topics([topic], partitions=1)
    schema = "outbox_alone"
    pool = await migrated_pool(fresh_database_url, schema)
    huge = json.dumps({"n": 1, "text": "x" * 2_000_000})
    events = [
        (topic, "k", "t", json.dumps({"n": 0})),
        (topic, "k", "t", huge),
        (topic, "k", "t", json.dumps({"n": 2})),
        (topic, "k", "t", json.dumps({"n": 3})),
    ]
    try:
        async with pool.acquire() as connection, connection.transaction():
            await enqueue_payloads(connection, events, source="tests")
        await relay_all(pool, local_stack.kafka_bootstrap_servers, schema)
        rows = await pool.fetch(
            "SELECT message_count, published_at IS NOT NULL AS published,"
            " failed_at IS NOT NULL AS failed FROM outbox ORDER BY id"
        )
    finally:
        await pool.close()

    assert [tuple(row) for row in rows] == [
        (1, True, False),
        (1, False, True),
        (2, True, False),
    ]
    # Asking for one message more than published waits for one empty poll.
    records = await consume_all(
        local_stack.kafka_bootstrap_servers, topic, 4, timeout_ms=3_000
    )
    assert [json.loads(record.value)["n"] for record in records] == [0, 2, 3]


@pytest.mark.parametrize(
    ("edit", "failure"),
    [
        (
            "SET messages = rtrim(messages, E'\\n') || E'\\nbroken line\\n'",
            "3 lines for a message_count of 2",
        ),
        (
            "SET headers = jsonb_set(headers, '{ce_id}', '\"x\"')",
            "ce_id header is not a UUID",
        ),
    ],
    ids=["line added", "ce_id not a UUID"],
)
async def test_grouped_row_edited_by_hand_is_set_aside(
    fresh_database_url, local_stack, edit, failure
):
    # The first row is edited: its lines no longer match its message_count,
    # or its ce_id, from which its events' ids derive, is no UUID. The row is
    # set aside, and the relay goes on with the rows after it.
    topic = f"outbox-edited-{uuid.uuid4().hex}"
    local_stack.kafka.create_topics([topic], partitions=1)
    schema = f"outbox_edited_{uuid.uuid4().hex[:8]}"
    pool = await migrated_pool(fresh_database_url, schema)
    try:
        async with pool.acquire() as connection, connection.transaction():
            for first in (0, 3):
                await enqueue_payloads(
                    connection,
                    [
                        (topic, "k", "t", json.dumps({"n": n}))
                        for n in (first, first + 1)
                    ],
                    source="tests",
                )
        await pool.execute(
            f"UPDATE outbox {edit} WHERE id = (SELECT min(id) FROM outbox)"
        )
        await relay_all(pool, local_stack.kafka_bootstrap_servers, schema)
        rows = await pool.fetch(
            "SELECT published_at IS NOT NULL AS published, failure FROM outbox"
            " ORDER BY id"
        )
    finally:
        await pool.close()

    assert [row["published"] for row in rows] == [False, True]
    assert failure in rows[0]["failure"]
    records = await consume_all(
        local_stack.kafka_bootstrap_servers, topic, 3, timeout_ms=3_000
    )
    assert [json.loads(record.value)["n"] for record in records] == [3, 4]


async def test_stored_event_ids_published(fresh_database_url, local_stack):
    # A grouped row written by a release that stored each event's id in its
    # line: the view and the relay give those ids, on both kinds of topic.
    plain = f"outbox-stored-ids-{uuid.uuid4().hex}"
    batched = f"outbox-stored-ids-batched-{uuid.uuid4().hex}"
    local_stack.kafka.create_topics([plain, batched], partitions=1)
    schema = "outbox_stored_ids"
    pool = await migrated_pool(fresh_database_url, schema)
    ids = {topic: [uuid.uuid4() for _ in range(3)] for topic in (plain, batched)}
    try:
        for topic, event_ids in ids.items():
            headers = {
                "ce_specversion": "1.0",
                "ce_id": str(event_ids[0]),
                "ce_source": "tests",
                "ce_type": "t",
                "ce_time": "2026-12-05T12:00:00+00:00",
                "ce_subject": "k0",
                "content-type": "application/json",
            }
            await pool.execute(
                "INSERT INTO outbox (event_id, topic, key, type, headers, messages,"
                " message_count) VALUES ($1, $2, 'k0', 't', $3::jsonb, $4, 3)",
                event_ids[0],
                topic,
                json.dumps(headers),
                "".join(
                    f"k{n}\tt\t{event_id}\t{json.dumps({'n': n})}\n"
                    for n, event_id in enumerate(event_ids)
                ),
            )
        stored = await pool.fetch(
            "SELECT topic, event_id, key, payload::text AS payload"
            " FROM outbox_events ORDER BY id, position"
        )
        await relay_all(
            pool,
            local_stack.kafka_bootstrap_servers,
            schema,
            batch_types={batched: BATCH_TYPE},
        )
    finally:
        await pool.close()

    assert [
        (row["topic"], row["event_id"], row["key"], json.loads(row["payload"]))
        for row in stored
    ] == [
        (topic, event_id, f"k{n}", {"n": n})
        for topic, event_ids in ids.items()
        for n, event_id in enumerate(event_ids)
    ]
    records = await consume_all(local_stack.kafka_bootstrap_servers, plain, 3)
    assert [dict(record.headers)["ce_id"].decode() for record in records] == [
        str(event_id) for event_id in ids[plain]
    ]
    (batch,) = await consume_all(
        local_stack.kafka_bootstrap_servers, batched, 1, timeout_ms=3_000
    )
    assert dict(batch.headers)["ce_id"].decode() == str(ids[batched][0])
    assert [event["n"] for event in json.loads(batch.value)] == [0, 1, 2]


async def test_event_with_long_key_gets_own_row(fresh_database_url):
    schema = "outbox_long_key"
    pool = await migrated_pool(fresh_database_url, schema)
    events = [
        ("t", "a", "x", json.dumps({"n": 0})),
        ("t", "k" * 40_000, "x", json.dumps({"n": 1})),
        ("t", "b", "x", json.dumps({"n": 2})),
    ]
    try:
        async with pool.acquire() as connection:
            await enqueue_payloads(connection, events, source="tests")
        counts = await pool.fetch("SELECT message_count FROM outbox ORDER BY id")
    finally:
        await pool.close()

    assert [row["message_count"] for row in counts] == [1, 1, 1]


@pytest.mark.parametrize(
    "text", ["a\u0000b", "\ud800"], ids=["NUL escape", "lone surrogate"]
)
async def test_jsonb_rejected_escape_still_fails(fresh_database_url, text):
    # Such an event gets a row of its own, whose jsonb column rejects it as
    # before events were grouped: nothing of the call is written.
    schema = f"outbox_escape_{uuid.uuid4().hex[:8]}"
    pool = await migrated_pool(fresh_database_url, schema)
    events = [
        ("t", "a", "x", json.dumps({"n": 0})),
        ("t", "k", "x", json.dumps({"n": 1, "text": text})),
        ("t", "b", "x", json.dumps({"n": 2})),
    ]
    try:
        async with pool.acquire() as connection:
            with pytest.raises(asyncpg.PostgresError):
                async with connection.transaction():
                    await enqueue_payloads(connection, events, source="tests")
            written = await connection.fetchval("SELECT count(*) FROM outbox")
    finally:
        await pool.close()

    assert written == 0
