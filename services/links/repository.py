"""SQL access to pupils, responsables and links (schema ``links``)."""

import uuid
from collections.abc import Iterable

import asyncpg

from shared.contracts.events import EleveImported, ResponsableImported


async def upsert_responsable(
    connection: asyncpg.Connection, event: ResponsableImported
) -> None:
    """Store the responsable record as the source exports it today."""
    await connection.execute(
        """
        INSERT INTO responsables (responsable_id, academie, source, civilite, nom,
                                  prenom, email, telephone_portable)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (responsable_id) DO UPDATE SET
            academie = EXCLUDED.academie, source = EXCLUDED.source,
            civilite = EXCLUDED.civilite, nom = EXCLUDED.nom,
            prenom = EXCLUDED.prenom, email = EXCLUDED.email,
            telephone_portable = EXCLUDED.telephone_portable,
            removed_at = NULL, updated_at = now()
        """,
        event.responsable_id,
        event.academie,
        event.source,
        event.civilite,
        event.nom,
        event.prenom,
        event.email,
        event.telephone_portable,
    )


async def mark_responsable_removed(
    connection: asyncpg.Connection, responsable_id: str
) -> None:
    """Record that the source no longer exports the responsable."""
    await connection.execute(
        "UPDATE responsables SET removed_at = now(), updated_at = now()"
        " WHERE responsable_id = $1 AND removed_at IS NULL",
        responsable_id,
    )


async def lock_eleve(
    connection: asyncpg.Connection, eleve_id: str
) -> asyncpg.Record | None:
    """Return the pupil's row, locked until the end of the transaction, so that
    all changes to one pupil's links are serialised."""
    return await connection.fetchrow(
        "SELECT * FROM eleves WHERE eleve_id = $1 FOR UPDATE", eleve_id
    )


async def upsert_eleve(connection: asyncpg.Connection, event: EleveImported) -> None:
    """Store the pupil as enrolled in the event's school and class."""
    await connection.execute(
        """
        INSERT INTO eleves (eleve_id, academie, ine, source, source_eleve_id, uai,
                            classe, nom, nom_usage, prenom, date_naissance)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (eleve_id) DO UPDATE SET
            academie = EXCLUDED.academie, ine = EXCLUDED.ine,
            source = EXCLUDED.source, source_eleve_id = EXCLUDED.source_eleve_id,
            uai = EXCLUDED.uai, classe = EXCLUDED.classe, nom = EXCLUDED.nom,
            nom_usage = EXCLUDED.nom_usage, prenom = EXCLUDED.prenom,
            date_naissance = EXCLUDED.date_naissance, enrolled = true,
            updated_at = now()
        """,
        event.eleve_id,
        event.academie,
        event.ine,
        event.source,
        event.source_eleve_id,
        event.uai,
        event.classe,
        event.nom,
        event.nom_usage,
        event.prenom,
        event.date_naissance,
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


async def insert_link(
    connection: asyncpg.Connection,
    *,
    link_id: uuid.UUID,
    eleve_id: str,
    responsable_id: str,
    academie: str,
    source: str,
    code_parente: str | None,
) -> bool:
    """Insert a proposed link; returns False when the pair already has one."""
    inserted = await connection.fetchval(
        """
        INSERT INTO links (link_id, eleve_id, responsable_id, academie, source,
                           code_parente)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (eleve_id, responsable_id) DO NOTHING
        RETURNING true
        """,
        link_id,
        eleve_id,
        responsable_id,
        academie,
        source,
        code_parente,
    )
    return bool(inserted)


async def update_link_source(
    connection: asyncpg.Connection,
    link_id: uuid.UUID,
    source: str,
    code_parente: str | None,
) -> None:
    """Record which source now carries an existing link; its state is kept."""
    await connection.execute(
        "UPDATE links SET source = $2, code_parente = $3 WHERE link_id = $1",
        link_id,
        source,
        code_parente,
    )


async def delete_links(
    connection: asyncpg.Connection, link_ids: Iterable[uuid.UUID]
) -> None:
    """Delete links the source no longer has."""
    await connection.execute(
        "DELETE FROM links WHERE link_id = ANY($1::uuid[])", list(link_ids)
    )


async def links_of_responsable(
    connection: asyncpg.Connection, responsable_id: str
) -> list[asyncpg.Record]:
    """Return the responsable's links with their pupils, in a stable order."""
    return await connection.fetch(
        """
        SELECT l.link_id, l.state, l.source, l.eleve_id, e.nom, e.nom_usage,
               e.prenom, e.uai, e.classe
        FROM links l JOIN eleves e USING (eleve_id)
        WHERE l.responsable_id = $1 AND e.enrolled
        ORDER BY e.nom, e.prenom, l.link_id
        """,
        responsable_id,
    )


async def lock_links_for_decision(
    connection: asyncpg.Connection,
    responsable_id: str,
    link_ids: list[uuid.UUID],
) -> list[asyncpg.Record]:
    """Return the responsable's links among ``link_ids`` with what a decision
    and its event need, locked until the end of the transaction."""
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
    new_state: str,
    correlation_id: str | None,
) -> None:
    """Append a decision to the audit trail."""
    await connection.execute(
        """
        INSERT INTO decision_audit (link_id, responsable_id, eleve_id, decision,
                                    screen, previous_state, new_state,
                                    correlation_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        link_id,
        responsable_id,
        eleve_id,
        decision,
        screen,
        previous_state,
        new_state,
        correlation_id,
    )
