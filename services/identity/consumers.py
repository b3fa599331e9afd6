"""Kafka subscriber of the identity service: responsable records from the
importer, each of which gets an account with a notice."""

from collections.abc import Callable

import asyncpg
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import TypeAdapter, ValidationError

from services.identity import accounts
from shared.contracts import ImportEvent, Topic
from shared.contracts.events import ResponsableImported
from shared.inbox import first_delivery
from shared.kafka import CORRELATION_HEADER, event_id_from_headers
from shared.logging import correlation_id_var, get_logger

logger = get_logger(__name__)

GROUP_ID = "identity"
CONSUMER = "identity.responsables"
_import_event = TypeAdapter(ImportEvent)


def register_consumers(broker: KafkaBroker, pool: Callable[[], asyncpg.Pool]) -> None:
    """Subscribe to responsable records. ``pool`` returns the connection pool
    once the application has started."""

    @broker.subscriber(
        Topic.RESPONSABLES,
        group_id=GROUP_ID,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_responsable(message: KafkaMessage) -> None:
        """Provision an account for each new responsable record; a removed
        record keeps its account, which simply shows no child."""
        headers = {key: str(value) for key, value in message.headers.items()}
        correlation_id_var.set(headers.get(CORRELATION_HEADER))
        raw = message.raw_message
        log = logger.bind(
            topic=raw.topic,
            partition=raw.partition,
            offset=raw.offset,
            message_id=headers.get("ce_id"),
        )
        try:
            event_id = event_id_from_headers(headers)
            event = _import_event.validate_json(message.body)
        except (ValueError, ValidationError) as exc:
            # NOTE: skipped messages are only in the logs; a dead-letter topic
            # would let an operator replay them once the producer is fixed.
            log.error("import_message_rejected", error=str(exc))
            return
        if not isinstance(event, ResponsableImported):
            return

        async with pool().acquire() as connection, connection.transaction():
            if not await first_delivery(
                connection, consumer=CONSUMER, event_id=event_id
            ):
                return
            created = await accounts.provision_account(connection, event)
        log.info("account_provisioned" if created else "account_refreshed")
