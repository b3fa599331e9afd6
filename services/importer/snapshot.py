"""Snapshot tables of the ``importer`` schema (see migrations/001_snapshots.sql)."""

from collections.abc import Collection, Mapping

import asyncpg

from services.importer.changes import Scope, ScopeChanges, Snapshot


async def lock_source(connection: asyncpg.Connection, scope: Scope) -> None:
    """Wait until no other transaction imports the same source of the same
    académie, and hold that until this transaction ends.

    Scopes of one source share responsables: two imports running at once
    could each see a shared responsable as held by no other scope and
    remove it, or both publish it as added.
    """
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        f"importer:{scope.academie}:{scope.source}",
    )


async def load_snapshot(
    connection: asyncpg.Connection, scope: Scope, responsable_ids: Collection[str]
) -> Snapshot:
    """Return the scope's snapshot, with the digests last published for
    ``responsable_ids``."""
    eleves = await connection.fetch(
        "SELECT eleve_id, digest FROM snapshot_eleves"
        " WHERE academie = $1 AND source = $2 AND uai = $3",
        scope.academie,
        scope.source,
        scope.uai,
    )
    responsables = await connection.fetch(
        "SELECT responsable_id, digest FROM snapshot_responsables"
        " WHERE academie = $1 AND source = $2 AND uai = $3",
        scope.academie,
        scope.source,
        scope.uai,
    )
    published = await connection.fetch(
        "SELECT responsable_id, digest FROM published_responsables"
        " WHERE academie = $1 AND source = $2 AND responsable_id = ANY($3::text[])",
        scope.academie,
        scope.source,
        list(responsable_ids),
    )
    return Snapshot(
        eleves={row["eleve_id"]: row["digest"] for row in eleves},
        responsables={row["responsable_id"]: row["digest"] for row in responsables},
        published={row["responsable_id"]: row["digest"] for row in published},
    )


async def held_by_other_scopes(
    connection: asyncpg.Connection, scope: Scope, responsable_ids: Collection[str]
) -> set[str]:
    """Return those of ``responsable_ids`` that another scope of the same
    académie and source contains."""
    rows = await connection.fetch(
        "SELECT DISTINCT responsable_id FROM snapshot_responsables"
        " WHERE academie = $1 AND source = $2 AND uai <> $3"
        " AND responsable_id = ANY($4::text[])",
        scope.academie,
        scope.source,
        scope.uai,
        list(responsable_ids),
    )
    return {row["responsable_id"] for row in rows}


async def save_snapshot(
    connection: asyncpg.Connection, changes: ScopeChanges, previous: Snapshot
) -> None:
    """Write the scope's new state, touching only the rows that differ from
    ``previous``."""
    scope = changes.scope
    await _save_scope_rows(
        connection,
        "snapshot_eleves",
        "eleve_id",
        scope,
        changes.eleve_digests,
        previous.eleves,
    )
    await _save_scope_rows(
        connection,
        "snapshot_responsables",
        "responsable_id",
        scope,
        changes.responsable_digests,
        previous.responsables,
    )

    published = {
        event.responsable_id: changes.responsable_digests[event.responsable_id]
        for event in (*changes.responsables_added, *changes.responsables_changed)
    }
    await connection.execute(
        "INSERT INTO published_responsables (academie, source, responsable_id, digest)"
        " SELECT $1, $2, id, digest"
        " FROM unnest($3::text[], $4::text[]) AS t(id, digest)"
        " ON CONFLICT (academie, source, responsable_id)"
        " DO UPDATE SET digest = excluded.digest",
        scope.academie,
        scope.source,
        list(published),
        list(published.values()),
    )
    await connection.execute(
        "DELETE FROM published_responsables"
        " WHERE academie = $1 AND source = $2 AND responsable_id = ANY($3::text[])",
        scope.academie,
        scope.source,
        [event.responsable_id for event in changes.responsables_removed],
    )


async def _save_scope_rows(
    connection: asyncpg.Connection,
    table: str,
    id_column: str,
    scope: Scope,
    digests: Mapping[str, str],
    previous: Mapping[str, str],
) -> None:
    # ``table`` and ``id_column`` are constants of this module, never input.
    upserts = {
        id_: digest for id_, digest in digests.items() if previous.get(id_) != digest
    }
    await connection.execute(
        f"INSERT INTO {table} (academie, source, uai, {id_column}, digest)"
        " SELECT $1, $2, $3, id, digest FROM unnest($4::text[], $5::text[])"
        " AS t(id, digest)"
        f" ON CONFLICT (academie, source, uai, {id_column})"
        " DO UPDATE SET digest = excluded.digest",
        scope.academie,
        scope.source,
        scope.uai,
        list(upserts),
        list(upserts.values()),
    )
    await connection.execute(
        f"DELETE FROM {table}"
        " WHERE academie = $1 AND source = $2 AND uai = $3"
        f" AND {id_column} = ANY($4::text[])",
        scope.academie,
        scope.source,
        scope.uai,
        list(previous.keys() - digests.keys()),
    )
