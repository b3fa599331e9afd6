"""Snapshot tables of the ``importer`` schema (see migrations/001_snapshots.sql)."""

from collections.abc import Collection, Mapping

import asyncpg

from services.importer.changes import Scope, ScopeChanges, Snapshot, link_ids


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
        "SELECT eleve_id, digest, responsable_ids FROM snapshot_eleves"
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
    # One index lookup per id. Written as ``responsable_id = ANY($3)``, the
    # lookup read every row of the source whenever the statistics predated
    # the run's own rows, so each school of a first import read all those
    # before it.
    published = await connection.fetch(
        "SELECT id AS responsable_id, digest FROM ("
        " SELECT id, (SELECT digest FROM published_responsables"
        "  WHERE academie = $1 AND source = $2 AND responsable_id = id) AS digest"
        " FROM unnest($3::text[]) AS t(id)) AS found WHERE digest IS NOT NULL",
        scope.academie,
        scope.source,
        list(responsable_ids),
    )
    return Snapshot(
        eleves={row["eleve_id"]: row["digest"] for row in eleves},
        responsables={row["responsable_id"]: row["digest"] for row in responsables},
        published={row["responsable_id"]: row["digest"] for row in published},
        eleve_links={
            row["eleve_id"]: frozenset(row["responsable_ids"]) for row in eleves
        },
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
    connection: asyncpg.Connection,
    changes: ScopeChanges,
    previous: Snapshot,
    *,
    full: bool = True,
) -> None:
    """Write the scope's new state, touching only the rows that differ from
    ``previous``. A delta (``full`` false) deletes no row. A statement with
    no row to write is not sent, so a school that did not change costs no
    round trip here."""
    scope = changes.scope
    await _save_eleves(connection, changes)
    await _save_scope_rows(
        connection,
        "snapshot_responsables",
        "responsable_id",
        scope,
        changes.responsable_digests,
        previous.responsables,
        full=full,
    )

    published = {
        event.responsable_id: changes.responsable_digests[event.responsable_id]
        for event in (*changes.responsables_added, *changes.responsables_changed)
    }
    if published:
        await connection.execute(
            "INSERT INTO published_responsables"
            " (academie, source, responsable_id, digest) SELECT $1, $2, id, digest"
            " FROM unnest($3::text[], $4::text[]) AS t(id, digest)"
            " ON CONFLICT (academie, source, responsable_id)"
            " DO UPDATE SET digest = excluded.digest",
            scope.academie,
            scope.source,
            list(published),
            list(published.values()),
        )
    removed = [event.responsable_id for event in changes.responsables_removed]
    if removed:
        await connection.execute(
            "DELETE FROM published_responsables WHERE academie = $1 AND source = $2"
            " AND responsable_id = ANY($3::text[])",
            scope.academie,
            scope.source,
            removed,
        )


async def _save_eleves(connection: asyncpg.Connection, changes: ScopeChanges) -> None:
    scope = changes.scope
    # A pupil's digest covers its links, so only added and changed pupils
    # have new links to store.
    events = (*changes.eleves_added, *changes.eleves_changed)
    if events:
        await connection.execute(
            "INSERT INTO snapshot_eleves"
            " (academie, source, uai, eleve_id, digest, responsable_ids)"
            " SELECT $1, $2, $3, id, digest, string_to_array(links, ' ')"
            " FROM unnest($4::text[], $5::text[], $6::text[]) AS t(id, digest, links)"
            " ON CONFLICT (academie, source, uai, eleve_id) DO UPDATE"
            " SET digest = excluded.digest, responsable_ids = excluded.responsable_ids",
            scope.academie,
            scope.source,
            scope.uai,
            [event.eleve_id for event in events],
            [changes.eleve_digests[event.eleve_id] for event in events],
            [" ".join(sorted(link_ids(event))) for event in events],
        )
    # A delta removes only the pupils it names as left, so the removed
    # pupils are deleted whatever the kind.
    if changes.eleves_removed:
        await connection.execute(
            "DELETE FROM snapshot_eleves"
            " WHERE academie = $1 AND source = $2 AND uai = $3"
            " AND eleve_id = ANY($4::text[])",
            scope.academie,
            scope.source,
            scope.uai,
            [event.eleve_id for event in changes.eleves_removed],
        )


async def _save_scope_rows(
    connection: asyncpg.Connection,
    table: str,
    id_column: str,
    scope: Scope,
    digests: Mapping[str, str],
    previous: Mapping[str, str],
    *,
    full: bool,
) -> None:
    # ``table`` and ``id_column`` are constants of this module, never input.
    upserts = {
        id_: digest for id_, digest in digests.items() if previous.get(id_) != digest
    }
    if upserts:
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
    stale = list(previous.keys() - digests.keys()) if full else []
    if stale:
        await connection.execute(
            f"DELETE FROM {table}"
            " WHERE academie = $1 AND source = $2 AND uai = $3"
            f" AND {id_column} = ANY($4::text[])",
            scope.academie,
            scope.source,
            scope.uai,
            stale,
        )
