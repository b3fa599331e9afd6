"""Kafka subscribers of the links service: the importer's pupils and
responsables. Each message is applied once, in one transaction with the
record of its id (see ``shared.inbox``)."""

from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import TypeAdapter, ValidationError

from services.links import handlers
from shared.contracts import ImportEvent, Topic
from shared.contracts.events import (
    EleveImported,
    EleveRemoved,
    ResponsableImported,
    ResponsableRemoved,
)
from shared.inbox import first_delivery
from shared.kafka import CORRELATION_HEADER, event_id_from_headers
from shared.logging import correlation_id_var, get_logger

logger = get_logger(__name__)

GROUP_ID = "links"
_import_event = TypeAdapter(ImportEvent)

_APPLY = {
    ResponsableImported: handlers.apply_responsable_imported,
    ResponsableRemoved: handlers.apply_responsable_removed,
    EleveImported: handlers.apply_eleve_imported,
    EleveRemoved: handlers.apply_eleve_removed,
}


def register_consumers(
    broker: KafkaBroker,
    pool: Callable[[], asyncpg.Pool],
    *,
    group_id: str = GROUP_ID,
) -> None:
    """Subscribe the links service to the importer's topics. ``pool`` returns
    the service's connection pool once the application has started."""

    async def apply(message: KafkaMessage, consumer: str) -> None:
        await _apply_import_message(pool(), message, consumer)

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
            title=f"{consumer}",
        )

        def make_handler(name: str) -> Callable[[KafkaMessage], Awaitable[None]]:
            async def handle(message: KafkaMessage) -> None:
                await apply(message, name)

            handle.__name__ = name.replace(".", "_")
            return handle

        subscriber(make_handler(consumer))


async def _apply_import_message(
    pool: asyncpg.Pool, message: KafkaMessage, consumer: str
) -> None:
    headers = {key: str(value) for key, value in message.headers.items()}
    correlation_id_var.set(headers.get(CORRELATION_HEADER))
    raw = message.raw_message
    log = logger.bind(
        consumer=consumer,
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        message_id=headers.get("ce_id"),
    )
    structlog.contextvars.bind_contextvars(
        correlation_id=headers.get(CORRELATION_HEADER)
    )

    try:
        event_id = event_id_from_headers(headers)
        event = _import_event.validate_json(message.body)
    except (ValueError, ValidationError) as exc:
        # Redelivering a message that can never be parsed would block its
        # partition; it is logged and skipped.
        # NOTE: skipped messages are only in the logs; a dead-letter topic
        # would let an operator replay them once the producer is fixed.
        log.error("import_message_rejected", error=str(exc))
        return

    async with pool.acquire() as connection, connection.transaction():
        if not await first_delivery(connection, consumer=consumer, event_id=event_id):
            log.debug("import_message_already_applied")
            return
        await _APPLY[type(event)](connection, event)
    log.info("import_message_applied", event_type=event.type)
