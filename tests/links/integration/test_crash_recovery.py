"""The links process killed between the commit of a decision and the
publication of its event: after a restart every event reaches a subscriber,
and its effect happens exactly once even when the relay publishes it twice."""

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.links import handlers
from services.links.domain import link_id_for
from shared.contracts import Topic
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.devstack.ports import LOOPBACK, free_port
from shared.devstack.processes import ManagedProcess
from shared.devstack.stack import REPO_ROOT, TOPIC_PARTITIONS
from shared.inbox import first_delivery
from shared.kafka import batch_event_id

from ..factories import BIRTH_DATE, eleve

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MIGRATIONS = Path(__file__).parents[3] / "services" / "links" / "migrations"
# The key of the advisory lock the relay takes before publishing (see
# shared.outbox): while the test holds it, the relay publishes nothing.
RELAY_LOCK = "links.outbox"
WAIT_SECONDS = 60


class Links:
    """A links process of its own, on a fresh database and a free port."""

    def __init__(self, local_stack, database_url: str, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.token = local_stack.secrets.internal_token
        self.env = local_stack.process_env("links") | {
            "LINKS_DATABASE_URL": database_url,
            "LINKS_HTTP_PORT": str(self.port),
            # A group of its own, so that this process never takes partitions
            # of the import topics from the session's links service.
            "LINKS_CONSUMER_GROUP": f"links-crash-{uuid.uuid4().hex[:8]}",
        }
        self.log_dir = log_dir
        self.bootstrap_servers = local_stack.kafka_bootstrap_servers
        self.process: ManagedProcess | None = None

    async def skip_existing_imports(self) -> None:
        """Commit the end of the import topics as the group's offsets, so that
        the process does not apply, and publish links for, the imports that
        other tests of the session sent."""
        group_id = self.env["LINKS_CONSUMER_GROUP"]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition(topic, partition)
                for topic in (Topic.RESPONSABLES, Topic.ELEVES)
                for partition in range(TOPIC_PARTITIONS)
            ]
            consumer.assign(partitions)
            await consumer.commit(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()

    async def start(self) -> None:
        self.process = ManagedProcess(
            "links-crash",
            [sys.executable, "-m", "services.links"],
            log_path=self.log_dir / "links-crash.log",
            env=self.env,
            cwd=REPO_ROOT,
        ).start()
        await asyncio.to_thread(
            self.process.wait_for_http, f"{self.url}/healthz", WAIT_SECONDS
        )

    def kill(self) -> None:
        """SIGKILL the process: no shutdown code runs, the relay included."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


class Subscriber:
    """A subscriber of the links topic that applies each event's effect once,
    recording the event's id in its batch in the same transaction
    (``shared.inbox``). ``deliveries`` counts the events received."""

    def __init__(self, local_stack, pool: asyncpg.Pool, eleve_id: str) -> None:
        self.consumer = AIOKafkaConsumer(
            Topic.LINKS,
            bootstrap_servers=local_stack.kafka_bootstrap_servers,
            group_id=f"crash-subscriber-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
        )
        self.pool = pool
        self.eleve_id = eleve_id
        self.deliveries = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.stop()

    async def _run(self) -> None:
        async for message in self.consumer:
            if message.key != self.eleve_id.encode():
                continue
            headers = {key: value.decode() for key, value in message.headers}
            batch_id = uuid.UUID(headers["ce_id"])
            for position, event in enumerate(json.loads(message.value)):
                event_id = batch_event_id(batch_id, position)
                self.deliveries += 1
                async with self.pool.acquire() as connection, connection.transaction():
                    if await first_delivery(
                        connection, consumer="crash-subscriber", event_id=event_id
                    ):
                        await connection.execute(
                            "INSERT INTO effects (event_id, type) VALUES ($1, $2)",
                            event_id,
                            event["type"],
                        )


async def wait_until(condition, what: str) -> None:
    for _ in range(WAIT_SECONDS * 10):
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_events_survive_kill_before_publication(
    local_stack, fresh_database_url, tmp_path
):
    await apply_migrations(fresh_database_url, "links", SHARED_MIGRATIONS, MIGRATIONS)
    await apply_migrations(fresh_database_url, "subscriber", SHARED_MIGRATIONS)
    pool = await create_pool(fresh_database_url, "links")
    subscriber_pool = await create_pool(fresh_database_url, "subscriber")
    await subscriber_pool.execute(
        "CREATE TABLE effects (event_id uuid NOT NULL, type text NOT NULL)"
    )
    eleve_id = f"crash-{uuid.uuid4().hex[:12]}"
    parents = [f"siecle:crash-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    links = Links(local_stack, fresh_database_url, tmp_path)
    subscriber = Subscriber(local_stack, subscriber_pool, eleve_id)
    relay_lock = await asyncpg.connect(fresh_database_url)
    try:
        # The pupil and its two links, written by the use case directly.
        event = eleve(*parents).model_copy(update={"eleve_id": eleve_id, "ine": None})
        async with pool.acquire() as connection, connection.transaction():
            await handlers.apply_eleve_imported(connection, event)

        # Both responsables confirm while the relay cannot publish.
        await relay_lock.execute("SELECT pg_advisory_lock(hashtext($1))", RELAY_LOCK)
        await links.skip_existing_imports()
        await links.start()
        async with httpx.AsyncClient(
            base_url=links.url, headers={"Authorization": f"Bearer {links.token}"}
        ) as client:
            for parent in parents:
                response = await client.post(
                    f"/internal/responsables/{parent}/decisions",
                    json={
                        "screen": "activation",
                        "decisions": [
                            {
                                "link_id": str(link_id_for(eleve_id, parent)),
                                "decision": "confirm",
                                "date_naissance": BIRTH_DATE.isoformat(),
                            }
                        ],
                    },
                )
                assert response.json()["applied"] is True
        links.kill()
        unpublished = await pool.fetchval(
            "SELECT count(*) FROM outbox_events WHERE published_at IS NULL"
        )
        assert unpublished == 4

        # Restarted, the relay publishes what the killed process committed.
        await subscriber.start()
        await relay_lock.execute("SELECT pg_advisory_unlock(hashtext($1))", RELAY_LOCK)
        await links.start()

        async def effects() -> int:
            return await subscriber_pool.fetchval("SELECT count(*) FROM effects")

        await wait_until(lambda: _equals(effects, 4), "four effects")
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM outbox_events WHERE published_at IS NULL"
            )
            == 0
        )

        # A relay killed after Kafka's acknowledgement but before it marked the
        # rows published sends them again; the subscriber applies nothing twice.
        await pool.execute("UPDATE outbox SET published_at = NULL")
        await wait_until(
            lambda: _true(subscriber.deliveries >= 8), "the events published again"
        )

        rows = await subscriber_pool.fetch(
            "SELECT event_id, type FROM effects ORDER BY type"
        )
        assert [row["type"] for row in rows] == [
            "link.confirmed",
            "link.confirmed",
            "link.proposed",
            "link.proposed",
        ]
        # One batch per outbox row: the pupil's events share a partition.
        first_ids: dict[int, uuid.UUID] = {}
        expected_ids = set()
        for event in await pool.fetch(
            "SELECT id, position, event_id FROM outbox_events ORDER BY id, position"
        ):
            first_id = first_ids.setdefault(event["id"], event["event_id"])
            expected_ids.add(batch_event_id(first_id, event["position"] - 1))
        assert {row["event_id"] for row in rows} == expected_ids
        assert subscriber.deliveries == 8
        assert await pool.fetchval("SELECT count(*) FROM eleves") == 1
    finally:
        links.stop()
        await subscriber.stop()
        await relay_lock.close()
        await pool.close()
        await subscriber_pool.close()


async def _equals(read, expected) -> bool:
    return await read() == expected


async def _true(value: bool) -> bool:
    return value
