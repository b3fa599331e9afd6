"""Kafka subscribers of the identity service: responsable records and pupils
from the importer, each of which gets an account with a notice. Each message
carries a batch of events (see ``shared.contracts.topics``), applied in one
transaction."""

from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import asyncpg
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy

from services.identity import accounts, pupils
from shared.consuming import ImportMessage, read_import_message
from shared.contracts import ImportEvent, Topic
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

        async with _logging_failure(read), pool().acquire() as connection:
            async with connection.transaction():
                if not await first_delivery(
                    connection, consumer=CONSUMER, event_id=read.event_id
                ):
                    return
                outcomes = await provision_responsables(connection, read.events)
        _log_outcomes(read.log, outcomes)

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

        async with _logging_failure(read), pool().acquire() as connection:
            async with connection.transaction():
                if not await first_delivery(
                    connection, consumer=PUPIL_CONSUMER, event_id=read.event_id
                ):
                    read.log.debug("import_message_already_applied")
                    return
                outcomes = await provision_pupils(connection, read.events)
        _log_outcomes(read.log, outcomes)


async def provision_responsables(
    connection: asyncpg.Connection, events: Sequence[ImportEvent]
) -> Counter[str]:
    """Provision or refresh the account of each responsable record of
    ``events``, in their order, in the caller's transaction. Returns how many
    accounts each outcome had."""
    imported = [event for event in events if isinstance(event, ResponsableImported)]
    await accounts.lock_identifiant_bases(
        connection,
        [accounts.identifiant_base(event.prenom, event.nom) for event in imported],
    )
    outcomes: Counter[str] = Counter()
    for event in imported:
        created = await accounts.provision_account(connection, event)
        outcomes["account_provisioned" if created else "account_refreshed"] += 1
    return outcomes


async def provision_pupils(
    connection: asyncpg.Connection, events: Sequence[ImportEvent]
) -> Counter[str]:
    """Provision or refresh the account of each pupil of ``events``, and mark
    the removed ones, in their order, in the caller's transaction. Returns
    how many accounts each outcome had."""
    await accounts.lock_identifiant_bases(
        connection,
        [
            accounts.identifiant_base(event.prenom, pupils.display_nom(event))
            for event in events
            if isinstance(event, EleveImported)
        ],
    )
    outcomes: Counter[str] = Counter()
    for event in events:
        if isinstance(event, EleveRemoved):
            marked = await pupils.mark_pupil_removed(connection, event)
            outcome = "pupil_school_removed" if marked else "pupil_removal_ignored"
        elif isinstance(event, EleveImported):
            created = await pupils.provision_pupil_account(connection, event)
            outcome = (
                "pupil_account_provisioned" if created else "pupil_account_refreshed"
            )
        else:
            continue
        outcomes[outcome] += 1
    return outcomes


@asynccontextmanager
async def _logging_failure(read: ImportMessage) -> AsyncIterator[None]:
    # The broker does not log a failed message: log it here, then let the
    # subscriber deliver it again.
    try:
        yield
    except Exception as exc:
        read.log.error(
            "import_message_failed",
            events=len(read.events),
            error=repr(exc),
            remedy="delivered again; check the database if it repeats",
        )
        raise


def _log_outcomes(log, outcomes: Counter[str]) -> None:
    # One line per outcome with its count: a message carries hundreds of
    # events, and the logs name no person.
    for outcome, count in sorted(outcomes.items()):
        log.info(outcome, events=count)
