"""Kafka subscribers of the identity service: responsable records and pupils
from the importer, each of which gets an account with a notice."""

from collections.abc import Callable

import asyncpg
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy

from services.identity import accounts, pupils
from shared.consuming import read_import_message
from shared.contracts import Topic
from shared.contracts.events import EleveImported, EleveRemoved, ResponsableImported
from shared.inbox import first_delivery
from shared.logging import get_logger

logger = get_logger(__name__)

GROUP_ID = "identity"
CONSUMER = "identity.responsables"
PUPIL_CONSUMER = "identity.eleves"


def register_consumers(broker: KafkaBroker, pool: Callable[[], asyncpg.Pool]) -> None:
    """Subscribe to responsable records and pupils. ``pool`` returns the
    connection pool once the application has started."""

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

    @broker.subscriber(
        Topic.ELEVES,
        group_id=GROUP_ID,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_eleve(message: KafkaMessage) -> None:
        """Provision an account for each new pupil and keep its school up to
        date. A removed pupil keeps its account, and its portal then shows no
        school (see ``services.identity.pupils``)."""
        read = read_import_message(message, logger, consumer=PUPIL_CONSUMER)
        if read is None:
            return
        event, log = read.event, read.log
        if not isinstance(event, EleveImported | EleveRemoved):
            return

        async with pool().acquire() as connection, connection.transaction():
            if not await first_delivery(
                connection, consumer=PUPIL_CONSUMER, event_id=read.event_id
            ):
                log.debug("import_message_already_applied")
                return
            if isinstance(event, EleveRemoved):
                marked = await pupils.mark_pupil_removed(connection, event)
            else:
                created = await pupils.provision_pupil_account(connection, event)
        if isinstance(event, EleveRemoved):
            log.info("pupil_school_removed" if marked else "pupil_removal_ignored")
        else:
            log.info(
                "pupil_account_provisioned" if created else "pupil_account_refreshed"
            )
