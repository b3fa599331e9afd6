"""Kafka subscribers of the links service: the importer's pupils and
responsables. Each message is applied once, in one transaction with the
record of its id (see ``shared.inbox``)."""

from collections.abc import Awaitable, Callable

import asyncpg
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy

from services.links import handlers
from shared.consuming import read_import_message
from shared.contracts import Topic
from shared.contracts.events import (
    EleveImported,
    EleveRemoved,
    ResponsableImported,
    ResponsableRemoved,
)
from shared.inbox import first_delivery
from shared.logging import get_logger

logger = get_logger(__name__)

GROUP_ID = "links"

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
    read = read_import_message(message, logger, consumer=consumer)
    if read is None:
        return
    event, log = read.event, read.log

    async with pool.acquire() as connection, connection.transaction():
        if not await first_delivery(
            connection, consumer=consumer, event_id=read.event_id
        ):
            log.debug("import_message_already_applied")
            return
        await _APPLY[type(event)](connection, event)
    log.info("import_message_applied", event_type=event.type)
