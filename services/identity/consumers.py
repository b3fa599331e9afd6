"""Kafka subscriber of the identity service: responsable records from the
importer, each of which gets an account with a notice."""

from collections.abc import Callable

import asyncpg
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy

from services.identity import accounts
from shared.consuming import read_import_message
from shared.contracts import Topic
from shared.contracts.events import ResponsableImported
from shared.inbox import first_delivery
from shared.logging import get_logger

logger = get_logger(__name__)

GROUP_ID = "identity"
CONSUMER = "identity.responsables"


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
        read = read_import_message(message, logger)
        if read is None:
            return
        event, log = read.event, read.log
        if not isinstance(event, ResponsableImported):
            return

        async with pool().acquire() as connection, connection.transaction():
            if not await first_delivery(
                connection, consumer=CONSUMER, event_id=read.event_id
            ):
                return
            created = await accounts.provision_account(connection, event)
        log.info("account_provisioned" if created else "account_refreshed")
