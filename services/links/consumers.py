"""Kafka subscribers of the links service: the importer's pupils and
responsables.

Each message carries a batch of events (see ``shared.contracts.topics``).
Messages come in batches of up to ``BATCH_SIZE``, each batch applied in one
transaction with the record of its messages' ids (see ``shared.inbox``), so
that a full import of an académie costs a few statements per batch rather
than a transaction per pupil. A batch whose transaction fails is delivered
again whole."""

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from itertools import groupby

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy

from services.links import handlers
from shared.consuming import read_import_record
from shared.contracts import ImportEvent, Topic
from shared.contracts.events import (
    EleveImported,
    ResponsableImported,
    ResponsableRemoved,
)
from shared.inbox import first_deliveries
from shared.logging import correlation_id_var, get_logger

logger = get_logger(__name__)

GROUP_ID = "links"
# Messages per batch, each of a few hundred events in a large import. Each
# batch waits for its offset commit before the next is fetched. NOTE: an
# estimate. First imports of 1,000,000 pupils took 126.8 and 128.3 s with 40,
# and 131.1 s with 20. Two runs of one code differ by up to 10 s.
BATCH_SIZE = 40
# How long a subscriber waits for a first message before it polls again.
BATCH_TIMEOUT_MS = 200

# Handlers that apply a list of events of one type, each key once.
_APPLY_MANY = {
    ResponsableImported: handlers.apply_responsables_imported,
    ResponsableRemoved: handlers.apply_responsables_removed,
    EleveImported: handlers.apply_eleves_imported,
}


def register_consumers(
    broker: KafkaBroker,
    pool: Callable[[], asyncpg.Pool],
    *,
    group_id: str = GROUP_ID,
    batch_size: int = BATCH_SIZE,
) -> None:
    """Subscribe the links service to the importer's topics. ``pool`` returns
    the service's connection pool once the application has started."""

    # Responsables and pupils come on two topics, so either may arrive first:
    # a link references its responsable by id only, without a foreign key.
    for topic, consumer in (
        (Topic.RESPONSABLES, "links.responsables"),
        (Topic.ELEVES, "links.eleves"),
    ):
        subscriber = broker.subscriber(
            topic,
            group_id=group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            batch=True,
            max_records=batch_size,
            batch_timeout_ms=BATCH_TIMEOUT_MS,
            decoder=_records,
            title=f"{consumer}",
        )

        def make_handler(name: str) -> Callable[[KafkaMessage], Awaitable[None]]:
            # The handler's docstring would become the topic's description
            # in the AsyncAPI document: ``apply_import_records`` has it.
            async def handle(message: KafkaMessage) -> None:
                try:
                    await apply_import_records(pool(), message.raw_message, name)
                except Exception as exc:
                    # The broker does not log it: log it here, then let the
                    # subscriber deliver the batch again.
                    logger.error(
                        "import_batch_failed",
                        consumer=name,
                        records=len(message.raw_message),
                        error=repr(exc),
                        remedy="delivered again; check the database if it repeats",
                    )
                    raise

            handle.__name__ = name.replace(".", "_")
            return handle

        subscriber(make_handler(consumer))


async def _records(message: KafkaMessage) -> tuple[ConsumerRecord, ...]:
    # The handler reads the records itself: decoding every body as JSON
    # first would cost as much again.
    return message.raw_message


async def apply_import_records(
    pool: asyncpg.Pool, records: Sequence[ConsumerRecord], consumer: str
) -> None:
    """Apply the import events of ``records`` in their order and in one
    transaction. Records that ``consumer`` already applied are skipped, and
    so are those that cannot be read (logged as ``import_message_rejected``)."""
    messages = [
        read
        for record in records
        if (read := read_import_record(record, logger, consumer=consumer)) is not None
    ]
    if not messages:
        return
    async with pool.acquire() as connection, connection.transaction():
        # Plans made while the tables were small would scan them whole: plan
        # each statement with the batch's values instead. Every statement
        # here looks rows up by key, but the first import of an académie
        # fills the tables faster than autovacuum analyzes them, and without
        # statistics the planner scans a table for a few thousand keys.
        await connection.execute(
            "SET LOCAL plan_cache_mode = force_custom_plan;"
            " SET LOCAL enable_seqscan = off"
        )
        fresh = await first_deliveries(
            connection,
            consumer=consumer,
            event_ids=[message.event_id for message in messages],
        )
        applied = []
        for message in messages:
            if message.event_id in fresh:
                fresh.discard(message.event_id)
                applied.append(message)
            else:
                message.log.debug("import_message_already_applied")
        events = [
            (event, message.correlation_id)
            for message in applied
            for event in message.events
        ]
        for group in _groups(events):
            correlation_id_var.set(group[0][1])
            await _apply_group(connection, [event for event, _ in group])
    if logging.getLogger(__name__).isEnabledFor(logging.INFO):
        for message in applied:
            message.log.info("import_message_applied", events=len(message.events))


async def _apply_group(connection: asyncpg.Connection, events: list) -> None:
    apply_many = _APPLY_MANY.get(type(events[0]))
    if apply_many is not None:
        await apply_many(connection, events)
        return
    # Pupils who leave are few, so each is applied alone.
    for event in events:
        await handlers.apply_eleve_removed(connection, event)


def _groups(
    events: list[tuple[ImportEvent, str | None]],
) -> Iterator[list[tuple[ImportEvent, str | None]]]:
    """Split ``(event, correlation id)`` pairs into runs of one event type
    and one correlation id in which each key appears once, keeping their
    order. Each run can then be applied with a few statements, and events of
    one key stay in order.

    NOTE: each run locks its pupils in id order, but a batch split into
    several runs does not, so it may deadlock with a decision on the same
    pupils. PostgreSQL then aborts one of the two: a batch is delivered
    again, a decision request fails. Locking every pupil of the batch first
    would lift this.
    """
    for _, run in groupby(events, key=lambda pair: (type(pair[0]), pair[1])):
        group: list[tuple[ImportEvent, str | None]] = []
        keys: set[str] = set()
        for pair in run:
            key = _key(pair[0])
            if key in keys:
                yield group
                group, keys = [], set()
            group.append(pair)
            keys.add(key)
        yield group


def _key(event) -> str:
    if isinstance(event, ResponsableImported | ResponsableRemoved):
        return event.responsable_id
    return event.eleve_id
