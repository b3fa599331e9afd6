"""SQL access to pupils, responsables and links (schema ``links``)."""

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

import asyncpg

from shared.contracts.events import EleveImported, ResponsableImported


@dataclass(frozen=True, slots=True)
class NewLink:
    """A link that an import brings to a pupil."""

    link_id: uuid.UUID
    eleve_id: str
    responsable_id: str
    academie: str
    source: str
    code_parente: str | None


async def lock_eleve(
    connection: asyncpg.Connection, eleve_id: str
) -> asyncpg.Record | None:
    """Return the pupil's row, locked until the end of the transaction, so that
    all changes to one pupil's links are serialised."""
    return await connection.fetchrow(
        "SELECT * FROM eleves WHERE eleve_id = $1 FOR UPDATE", eleve_id
    )


async def mark_eleve_not_enrolled(
    connection: asyncpg.Connection, eleve_id: str
) -> None:
    """Record that no source enrols the pupil any more."""
    await connection.execute(
        "UPDATE eleves SET enrolled = false, updated_at = now() WHERE eleve_id = $1",
        eleve_id,
    )


async def links_of_eleve(
    connection: asyncpg.Connection, eleve_id: str, source: str
) -> list[asyncpg.Record]:
    """Return the pupil's links that ``source`` brought."""
    return await connection.fetch(
        "SELECT * FROM links WHERE eleve_id = $1 AND source = $2", eleve_id, source
    )


async def delete_links(
    connection: asyncpg.Connection, link_ids: Iterable[uuid.UUID]
) -> None:
    """Delete links the source no longer has, keeping a record of each in
    ``removed_links`` with the state it had."""
    await connection.execute(
        """
        WITH deleted AS (
            DELETE FROM links WHERE link_id = ANY($1::uuid[])
            RETURNING link_id, eleve_id, responsable_id, source, state
        )
        INSERT INTO removed_links (link_id, eleve_id, responsable_id, source,
                                   previous_state)
        SELECT link_id, eleve_id, responsable_id, source, state FROM deleted
        ON CONFLICT (link_id) DO UPDATE SET
            source = EXCLUDED.source, previous_state = EXCLUDED.previous_state,
            removed_at = now()
        """,
        list(link_ids),
    )


async def links_of_responsable(
    connection: asyncpg.Connection,
    responsable_id: str,
    states: Sequence[str] | None = None,
) -> list[asyncpg.Record]:
    """Return the responsable's links to enrolled pupils, in a stable order;
    only those in ``states`` when given."""
    return await connection.fetch(
        """
        SELECT l.link_id, l.state, l.source, l.eleve_id, e.nom, e.nom_usage,
               e.prenom, e.uai, e.classe
        FROM links l JOIN eleves e USING (eleve_id)
        WHERE l.responsable_id = $1 AND e.enrolled
          AND ($2::text[] IS NULL OR l.state::text = ANY($2::text[]))
        ORDER BY e.nom, e.prenom, l.link_id
        """,
        responsable_id,
        list(states) if states is not None else None,
    )


async def responsable(
    connection: asyncpg.Connection, responsable_id: str
) -> asyncpg.Record | None:
    """Return the responsable record, or None when no import brought it yet."""
    return await connection.fetchrow(
        "SELECT * FROM responsables WHERE responsable_id = $1", responsable_id
    )


async def confirmed_links_from_other_sources(
    connection: asyncpg.Connection, eleve_id: str, source: str
) -> list[asyncpg.Record]:
    """Return the pupil's confirmed links that another source brought, whether
    that source still has them or dropped them, with their responsable record,
    most recent first."""
    return await connection.fetch(
        """
        SELECT c.link_id, r.nom, r.prenom, r.email, r.telephone_portable
        FROM (
            SELECT link_id, responsable_id, coalesce(decided_at, created_at) AS at
            FROM links
            WHERE eleve_id = $1 AND source <> $2 AND state = 'confirmed'
            UNION ALL
            SELECT link_id, responsable_id, removed_at AS at
            FROM removed_links
            WHERE eleve_id = $1 AND source <> $2 AND previous_state = 'confirmed'
        ) c
        JOIN responsables r USING (responsable_id)
        ORDER BY c.at DESC
        """,
        eleve_id,
        source,
    )


async def last_confirmation_screen(
    connection: asyncpg.Connection, link_id: uuid.UUID
) -> str | None:
    """Return the screen of the last applied confirmation of a link."""
    return await connection.fetchval(
        "SELECT screen FROM decision_audit WHERE link_id = $1"
        " AND decision = 'confirm' AND outcome = 'applied'"
        " ORDER BY decided_at DESC, id DESC LIMIT 1",
        link_id,
    )


async def link(connection: asyncpg.Connection, link_id: uuid.UUID) -> asyncpg.Record:
    """Return a link row, or None when there is none."""
    return await connection.fetchrow("SELECT * FROM links WHERE link_id = $1", link_id)


async def lock_proposed_links_of_responsable(
    connection: asyncpg.Connection, responsable_id: str
) -> list[asyncpg.Record]:
    """Return the responsable's proposed links, pupils then links locked until
    the end of the transaction."""
    eleve_ids = await connection.fetch(
        "SELECT eleve_id FROM links WHERE responsable_id = $1 AND state = 'proposed'",
        responsable_id,
    )
    await lock_eleves(connection, [row["eleve_id"] for row in eleve_ids])
    return await connection.fetch(
        "SELECT * FROM links WHERE responsable_id = $1 AND state = 'proposed'"
        " ORDER BY eleve_id FOR UPDATE",
        responsable_id,
    )


async def lock_links_for_decision(
    connection: asyncpg.Connection,
    responsable_id: str,
    link_ids: list[uuid.UUID],
) -> list[asyncpg.Record]:
    """Return the responsable's links among ``link_ids`` with what a decision
    and its event need, locked until the end of the transaction.

    The pupils are locked before the links, the order in which imports take
    them (pupil, then its links), so that a decision and an import wait for
    each other rather than deadlock.
    """
    eleve_ids = await connection.fetch(
        "SELECT eleve_id FROM links WHERE responsable_id = $1"
        " AND link_id = ANY($2::uuid[])",
        responsable_id,
        link_ids,
    )
    await lock_eleves(connection, [row["eleve_id"] for row in eleve_ids])
    return await connection.fetch(
        """
        SELECT l.link_id, l.state, l.eleve_id, l.responsable_id, l.academie,
               e.ine, e.source AS eleve_source, e.source_eleve_id, e.uai, e.classe,
               e.nom AS eleve_nom, e.prenom AS eleve_prenom, e.date_naissance,
               r.civilite, r.nom AS responsable_nom, r.prenom AS responsable_prenom
        FROM links l
        JOIN eleves e USING (eleve_id)
        LEFT JOIN responsables r ON r.responsable_id = l.responsable_id
        WHERE l.responsable_id = $1 AND l.link_id = ANY($2::uuid[]) AND e.enrolled
        ORDER BY l.eleve_id
        FOR UPDATE OF l
        """,
        responsable_id,
        link_ids,
    )


async def lock_eleves(connection: asyncpg.Connection, eleve_ids: list[str]) -> set[str]:
    """Lock the pupils' rows until the end of the transaction, in id order.
    Return the ids of the pupils found."""
    rows = await connection.fetch(
        "SELECT eleve_id FROM eleves WHERE eleve_id = ANY($1::text[])"
        " ORDER BY eleve_id FOR UPDATE",
        sorted(set(eleve_ids)),
    )
    return {row["eleve_id"] for row in rows}


async def lock_responsable_decisions(
    connection: asyncpg.Connection, responsable_id: str
) -> None:
    """Serialise the decision requests of one responsable until the end of the
    transaction, so that two parallel requests cannot both pass the limit on
    wrong birth dates."""
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        f"links.decisions:{responsable_id}",
    )


async def count_confirmed_links(
    connection: asyncpg.Connection, responsable_id: str
) -> int:
    """Return how many of the responsable's links to enrolled pupils are confirmed."""
    return await connection.fetchval(
        "SELECT count(*) FROM links l JOIN eleves e USING (eleve_id)"
        " WHERE l.responsable_id = $1 AND l.state = 'confirmed' AND e.enrolled",
        responsable_id,
    )


async def birth_date_mismatch_times(
    connection: asyncpg.Connection,
    *,
    responsable_id: str | None = None,
    eleve_id: str | None = None,
    since: datetime,
) -> list[datetime]:
    """Return when wrong birth dates were typed since ``since``, oldest first,
    by one responsable or for one pupil (give exactly one of the two)."""
    if (responsable_id is None) == (eleve_id is None):
        raise ValueError("give exactly one of responsable_id and eleve_id")
    column, value = (
        ("responsable_id", responsable_id)
        if responsable_id is not None
        else ("eleve_id", eleve_id)
    )
    rows = await connection.fetch(
        f"SELECT decided_at FROM decision_audit WHERE {column} = $1"
        " AND outcome = 'birth_date_mismatch' AND decided_at > $2"
        " ORDER BY decided_at",
        value,
        since,
    )
    return [row["decided_at"] for row in rows]


async def set_link_state(
    connection: asyncpg.Connection, link_id: uuid.UUID, state: str
) -> None:
    """Record a responsable's decision on a link."""
    await connection.execute(
        "UPDATE links SET state = $2, decided_at = now() WHERE link_id = $1",
        link_id,
        state,
    )


async def record_decision(
    connection: asyncpg.Connection,
    *,
    link_id: uuid.UUID,
    responsable_id: str,
    eleve_id: str,
    decision: str,
    screen: str,
    previous_state: str,
    new_state: str | None,
    correlation_id: str | None,
    outcome: str = "applied",
    decided_at: datetime | None = None,
) -> None:
    """Append a decision to the audit trail: ``outcome`` is ``applied`` or the
    error code that rejected it, in which case ``new_state`` is None."""
    await connection.execute(
        """
        INSERT INTO decision_audit (link_id, responsable_id, eleve_id, decision,
                                    screen, previous_state, new_state,
                                    correlation_id, outcome, decided_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()))
        """,
        link_id,
        responsable_id,
        eleve_id,
        decision,
        screen,
        previous_state,
        new_state,
        correlation_id,
        outcome,
        decided_at,
    )


async def save_responsables(
    connection: asyncpg.Connection, events: Sequence[ResponsableImported]
) -> None:
    """Store responsable records as the source exports them today. Each id
    appears once.

    Those not stored yet are copied in, as ``save_eleves`` copies pupils."""
    rows = await connection.fetch(
        "SELECT responsable_id FROM responsables"
        " WHERE responsable_id = ANY($1::text[])",
        [event.responsable_id for event in events],
    )
    existing = {row["responsable_id"] for row in rows}
    new = [event for event in events if event.responsable_id not in existing]
    if new:
        await connection.copy_records_to_table(
            "responsables",
            records=map(_responsable_row, new),
            columns=_RESPONSABLE_COLUMNS,
        )
    if len(new) < len(events):
        await _upsert_responsables(
            connection,
            [event for event in events if event.responsable_id in existing],
        )


_RESPONSABLE_COLUMNS = (
    "responsable_id",
    "academie",
    "source",
    "civilite",
    "nom",
    "prenom",
    "email",
    "telephone_portable",
)
# A row of ``_RESPONSABLE_COLUMNS`` from a ``ResponsableImported``.
_responsable_row = attrgetter(*_RESPONSABLE_COLUMNS)


async def _upsert_responsables(
    connection: asyncpg.Connection, events: Sequence[ResponsableImported]
) -> None:
    await connection.execute(
        """
        INSERT INTO responsables (responsable_id, academie, source, civilite, nom,
                                  prenom, email, telephone_portable)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                             $5::text[], $6::text[], $7::text[], $8::text[])
        ON CONFLICT (responsable_id) DO UPDATE SET
            academie = EXCLUDED.academie, source = EXCLUDED.source,
            civilite = EXCLUDED.civilite, nom = EXCLUDED.nom,
            prenom = EXCLUDED.prenom, email = EXCLUDED.email,
            telephone_portable = EXCLUDED.telephone_portable,
            removed_at = NULL, updated_at = now()
        """,
        [event.responsable_id for event in events],
        [event.academie for event in events],
        [event.source for event in events],
        [event.civilite for event in events],
        [event.nom for event in events],
        [event.prenom for event in events],
        [event.email for event in events],
        [event.telephone_portable for event in events],
    )


async def mark_responsables_removed(
    connection: asyncpg.Connection, responsable_ids: Sequence[str]
) -> None:
    """Record that the source no longer exports these responsables."""
    await connection.execute(
        "UPDATE responsables SET removed_at = now(), updated_at = now()"
        " WHERE responsable_id = ANY($1::text[]) AND removed_at IS NULL",
        list(responsable_ids),
    )


async def save_eleves(
    connection: asyncpg.Connection,
    events: Sequence[EleveImported],
    existing: Collection[str],
) -> None:
    """Store pupils as enrolled in their events' schools and classes. Each id
    appears once. ``existing`` contains the ids of those that the caller
    locked, and the others are new.

    New pupils are copied in: a copy costs PostgreSQL a quarter less than an
    insert, and the client less than half. A pupil that another transaction
    inserts meanwhile makes the copy fail, so the caller's batch is delivered
    again."""
    new = [event for event in events if event.eleve_id not in existing]
    if new:
        await connection.copy_records_to_table(
            "eleves", records=map(_eleve_row, new), columns=_ELEVE_COLUMNS
        )
    if len(new) < len(events):
        await _upsert_eleves(
            connection, [event for event in events if event.eleve_id in existing]
        )


_ELEVE_COLUMNS = (
    "eleve_id",
    "academie",
    "ine",
    "source",
    "source_eleve_id",
    "uai",
    "classe",
    "nom",
    "nom_usage",
    "prenom",
    "date_naissance",
)
# A row of ``_ELEVE_COLUMNS`` from an ``EleveImported``.
_eleve_row = attrgetter(*_ELEVE_COLUMNS)


async def _upsert_eleves(
    connection: asyncpg.Connection, events: Sequence[EleveImported]
) -> None:
    await connection.execute(
        """
        INSERT INTO eleves (eleve_id, academie, ine, source, source_eleve_id, uai,
                            classe, nom, nom_usage, prenom, date_naissance)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                             $5::text[], $6::text[], $7::text[], $8::text[],
                             $9::text[], $10::text[], $11::date[])
        ON CONFLICT (eleve_id) DO UPDATE SET
            academie = EXCLUDED.academie, ine = EXCLUDED.ine,
            source = EXCLUDED.source, source_eleve_id = EXCLUDED.source_eleve_id,
            uai = EXCLUDED.uai, classe = EXCLUDED.classe, nom = EXCLUDED.nom,
            nom_usage = EXCLUDED.nom_usage, prenom = EXCLUDED.prenom,
            date_naissance = EXCLUDED.date_naissance, enrolled = true,
            updated_at = now()
        """,
        [event.eleve_id for event in events],
        [event.academie for event in events],
        [event.ine for event in events],
        [event.source for event in events],
        [event.source_eleve_id for event in events],
        [event.uai for event in events],
        [event.classe for event in events],
        [event.nom for event in events],
        [event.nom_usage for event in events],
        [event.prenom for event in events],
        [event.date_naissance for event in events],
    )


async def links_of_eleves(
    connection: asyncpg.Connection, eleve_ids: Sequence[str]
) -> list[asyncpg.Record]:
    """Return every link of these pupils, whichever source brought it."""
    # One index scan over the ids. A join with the ids would be planned as a
    # scan of every link while the table has no statistics yet.
    return await connection.fetch(
        "SELECT * FROM links WHERE eleve_id = ANY($1::text[])", list(eleve_ids)
    )


async def insert_links(connection: asyncpg.Connection, rows: Sequence[NewLink]) -> None:
    """Copy in proposed links whose pupil has no link yet to their responsable.

    The caller locked the pupils' rows or inserted them in its transaction,
    then read their links. So a plain copy suffices, without the speculative
    insertion per row that ``ON CONFLICT`` costs a first import's millions
    of links."""
    if rows:
        await connection.copy_records_to_table(
            "links", records=map(_link_row, rows), columns=_LINK_COLUMNS
        )


_LINK_COLUMNS = (
    "link_id",
    "eleve_id",
    "responsable_id",
    "academie",
    "source",
    "code_parente",
)
# A row of ``_LINK_COLUMNS`` from a ``NewLink``.
_link_row = attrgetter(*_LINK_COLUMNS)


async def update_links_source(
    connection: asyncpg.Connection, rows: Sequence[NewLink]
) -> None:
    """Record which source now carries existing links; their states are kept."""
    if not rows:
        return
    await connection.execute(
        "UPDATE links SET source = t.source, code_parente = t.code_parente"
        " FROM unnest($1::uuid[], $2::text[], $3::text[])"
        " AS t(link_id, source, code_parente)"
        " WHERE links.link_id = t.link_id",
        [row.link_id for row in rows],
        [row.source for row in rows],
        [row.code_parente for row in rows],
    )


async def with_confirmed_links_from_other_sources(
    connection: asyncpg.Connection, pupils: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Return those ``(eleve_id, source)`` pairs whose pupil has a confirmed
    link that another source brought, whether that source still has it or
    dropped it: the pupils whose new links may take that confirmation."""
    rows = await connection.fetch(
        """
        SELECT t.eleve_id, t.source
        FROM unnest($1::text[], $2::text[]) AS t(eleve_id, source)
        WHERE EXISTS (SELECT 1 FROM links o WHERE o.eleve_id = t.eleve_id
                      AND o.source <> t.source AND o.state = 'confirmed')
           OR EXISTS (SELECT 1 FROM removed_links o WHERE o.eleve_id = t.eleve_id
                      AND o.source <> t.source AND o.previous_state = 'confirmed')
        """,
        [eleve_id for eleve_id, _ in pupils],
        [source for _, source in pupils],
    )
    return {(row["eleve_id"], row["source"]) for row in rows}


async def undecided_links_of_responsables(
    connection: asyncpg.Connection, responsable_ids: Sequence[str]
) -> list[asyncpg.Record]:
    """Return the responsables' proposed links that no decision touched, for
    pupils that have a confirmed link from another source: those whose
    confirmation may carry over now that the responsable records are known.
    Ordered by pupil."""
    # Sorted here, not by the query: with ``ORDER BY eleve_id`` the planner
    # sometimes read the whole (eleve_id, responsable_id) index in order and
    # filtered every link, instead of looking the responsables up.
    rows = await connection.fetch(
        """
        SELECT l.link_id, l.eleve_id FROM links l
        WHERE l.responsable_id = ANY($1::text[]) AND l.state = 'proposed'
          AND l.decided_at IS NULL
          AND (
            EXISTS (SELECT 1 FROM links o WHERE o.eleve_id = l.eleve_id
                    AND o.source <> l.source AND o.state = 'confirmed')
            OR EXISTS (SELECT 1 FROM removed_links o WHERE o.eleve_id = l.eleve_id
                       AND o.source <> l.source AND o.previous_state = 'confirmed')
          )
        """,
        list(responsable_ids),
    )
    return sorted(rows, key=lambda row: (row["eleve_id"], row["link_id"]))
