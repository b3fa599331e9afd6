"""Use cases of the links service. Each runs inside the caller's transaction
and writes its events to the outbox in that same transaction."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from services.links import repository
from services.links.domain import (
    Decision,
    DecisionError,
    LinkState,
    check_decision,
    link_id_for,
    state_after,
)
from services.links.errors import LinkNotFound
from shared.contracts import Topic
from shared.contracts.events import (
    EleveImported,
    EleveRemoved,
    LinkConfirmed,
    LinkedEleve,
    LinkedResponsable,
    LinkProposed,
    LinkRefused,
    LinkRemoved,
    ResponsableImported,
    ResponsableRemoved,
    Screen,
)
from shared.logging import correlation_id_var, get_logger
from shared.outbox import enqueue

logger = get_logger(__name__)

EVENT_SOURCE = "educonnect/links"


async def _publish(connection: asyncpg.Connection, eleve_id: str, event) -> None:
    # Every link event is keyed by its pupil: one pupil's events stay in order.
    await enqueue(
        connection, topic=Topic.LINKS, key=eleve_id, event=event, source=EVENT_SOURCE
    )


async def apply_responsable_imported(
    connection: asyncpg.Connection, event: ResponsableImported
) -> None:
    """Store a responsable record from an import. Emits nothing."""
    await repository.upsert_responsable(connection, event)


async def apply_responsable_removed(
    connection: asyncpg.Connection, event: ResponsableRemoved
) -> None:
    """Mark a responsable record as gone from its source. Its links go with the
    pupil events that no longer name it. Emits nothing."""
    await repository.mark_responsable_removed(connection, event.responsable_id)


async def apply_eleve_imported(
    connection: asyncpg.Connection, event: EleveImported
) -> None:
    """Store a pupil and reconcile the links that the event's source gives.

    A link new to the pupil starts ``proposed`` (emits ``link.proposed``); a
    link already there keeps its state, whichever source brought it first; a
    link of the same source that the event no longer names is removed (emits
    ``link.removed``). Links from another source are left to that source.
    """
    await repository.lock_eleve(connection, event.eleve_id)
    await repository.upsert_eleve(connection, event)
    now = datetime.now(UTC)

    expected = {link.responsable_id: link for link in event.responsables}
    existing = {
        row["responsable_id"]: row
        for row in await repository.links_of_eleve(
            connection, event.eleve_id, event.source
        )
    }

    for responsable_id, link in expected.items():
        if responsable_id in existing:
            continue
        link_id = link_id_for(event.eleve_id, responsable_id)
        inserted = await repository.insert_link(
            connection,
            link_id=link_id,
            eleve_id=event.eleve_id,
            responsable_id=responsable_id,
            academie=event.academie,
            source=event.source,
            code_parente=link.code_parente,
        )
        if not inserted:
            # Another source brought this pair first: it keeps its state and
            # now follows the source that enrols the pupil.
            await repository.update_link_source(
                connection, link_id, event.source, link.code_parente
            )
            continue
        await _publish(
            connection,
            event.eleve_id,
            LinkProposed(
                academie=event.academie,
                link_id=link_id,
                eleve_id=event.eleve_id,
                responsable_id=responsable_id,
                occurred_at=now,
            ),
        )

    await _remove_links(
        connection,
        [row for rid, row in existing.items() if rid not in expected],
        now,
    )


async def apply_eleve_removed(
    connection: asyncpg.Connection, event: EleveRemoved
) -> None:
    """Remove the links that the event's source gave a pupil who left it. The
    pupil stays enrolled when another source or school now has them (a pupil
    moving from ONDE to SIECLE keeps the same INE). Emits ``link.removed``."""
    eleve = await repository.lock_eleve(connection, event.eleve_id)
    if eleve is None:
        return
    now = datetime.now(UTC)

    await _remove_links(
        connection,
        await repository.links_of_eleve(connection, event.eleve_id, event.source),
        now,
    )
    if eleve["source"] == event.source and eleve["uai"] == event.uai:
        await repository.mark_eleve_not_enrolled(connection, event.eleve_id)


async def _remove_links(
    connection: asyncpg.Connection, rows: list[asyncpg.Record], now: datetime
) -> None:
    if not rows:
        return
    await repository.delete_links(connection, (row["link_id"] for row in rows))
    for row in rows:
        await _publish(
            connection,
            row["eleve_id"],
            LinkRemoved(
                academie=row["academie"],
                link_id=row["link_id"],
                eleve_id=row["eleve_id"],
                responsable_id=row["responsable_id"],
                occurred_at=now,
                previous_state=row["state"],
            ),
        )


@dataclass
class DecisionOutcome:
    """Result of a decision request: links changed, or the errors that stopped it."""

    errors: list[DecisionError] = field(default_factory=list)
    changed: int = 0


async def decide(
    connection: asyncpg.Connection,
    *,
    responsable_id: str,
    decisions: list[Decision],
    screen: Screen,
    dry_run: bool = False,
) -> DecisionOutcome:
    """Apply a responsable's decisions on their links, all or none.

    Every decision is checked first (the link is the responsable's, the birth
    date of a confirmed pupil matches); if one fails, nothing is written and
    the errors are returned. Otherwise each link that changes state is
    audited and emits ``link.confirmed`` or ``link.refused``; a decision that
    repeats the current state changes nothing. Raises ``LinkNotFound`` for a
    link id that is not one of the responsable's.
    """
    rows = {
        row["link_id"]: row
        for row in await repository.lock_links_for_decision(
            connection, responsable_id, [decision.link_id for decision in decisions]
        )
    }
    for decision in decisions:
        if decision.link_id not in rows:
            raise LinkNotFound(decision.link_id)

    errors = [
        error
        for decision in decisions
        if (error := check_decision(decision, rows[decision.link_id]["date_naissance"]))
    ]
    if errors or dry_run:
        return DecisionOutcome(errors=errors)

    outcome = DecisionOutcome()
    now = datetime.now(UTC)
    for decision in decisions:
        row = rows[decision.link_id]
        previous = LinkState(row["state"])
        new = state_after(decision.choice)
        if new == previous:
            continue
        await repository.set_link_state(connection, decision.link_id, new)
        await repository.record_decision(
            connection,
            link_id=decision.link_id,
            responsable_id=responsable_id,
            eleve_id=row["eleve_id"],
            decision=decision.choice,
            screen=screen,
            previous_state=previous,
            new_state=new,
            correlation_id=correlation_id_var.get(),
        )
        await _publish(
            connection, row["eleve_id"], _decision_event(row, new, screen, now)
        )
        outcome.changed += 1
        logger.info(
            "link_decided",
            link_id=str(decision.link_id),
            previous_state=previous.value,
            new_state=new.value,
            screen=screen,
        )
    return outcome


def _decision_event(
    row: asyncpg.Record, state: LinkState, screen: Screen, now: datetime
) -> LinkConfirmed | LinkRefused:
    common = dict(
        academie=row["academie"],
        link_id=row["link_id"],
        eleve_id=row["eleve_id"],
        responsable_id=row["responsable_id"],
        occurred_at=now,
        screen=screen,
    )
    if state == LinkState.CONFIRMED:
        return LinkConfirmed(**common)
    return LinkRefused(
        **common,
        eleve=LinkedEleve(
            eleve_id=row["eleve_id"],
            ine=row["ine"],
            source=row["eleve_source"],
            source_eleve_id=row["source_eleve_id"],
            uai=row["uai"],
            classe=row["classe"],
            nom=row["eleve_nom"],
            prenom=row["eleve_prenom"],
            date_naissance=row["date_naissance"],
        ),
        responsable=LinkedResponsable(
            responsable_id=row["responsable_id"],
            civilite=row["civilite"] or "",
            nom=row["responsable_nom"] or "",
            prenom=row["responsable_prenom"] or "",
        ),
    )
