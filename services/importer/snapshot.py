"""Snapshot tables of the ``importer`` schema (see migrations/001_snapshots.sql)."""

from collections.abc import Collection

import asyncpg

from services.importer.changes import Scope, ScopeChanges, Snapshot


async def lock_source(
    connection: asyncpg.Connection, academie: str, source: str
) -> None:
    """Wait until no other transaction imports the same source of the same
    académie, and hold that until this transaction ends.

    Scopes of one source share responsables: two imports running at once
    could each see a shared responsable as held by no other scope and
    remove it, or both publish it as added.
    """
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1))",
        f"importer:{academie}:{source}",
    )


async def load_snapshot(connection: asyncpg.Connection, scope: Scope) -> Snapshot:
    """Return the scope's snapshot, without the published digests (see
    ``load_published``)."""
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
    return Snapshot(
        eleves={row["eleve_id"]: row["digest"] for row in eleves},
        responsables={row["responsable_id"]: row["digest"] for row in responsables},
        eleve_links={
            row["eleve_id"]: frozenset(row["responsable_ids"]) for row in eleves
        },
    )


async def load_published(
    connection: asyncpg.Connection, scope: Scope, responsable_ids: Collection[str]
) -> dict[str, str]:
    """Return the digests last published for the source of ``scope``, by
    id, of those of ``responsable_ids`` that it published."""
    if not responsable_ids:
        return {}
    # One index lookup per id. Written as ``responsable_id = ANY($3)``, the
    # lookup read every row of the source whenever the statistics predated
    # the run's own rows, so each school of a first import read all those
    # before it.
    rows = await connection.fetch(
        "SELECT id AS responsable_id, digest FROM ("
        " SELECT id, (SELECT digest FROM published_responsables"
        "  WHERE academie = $1 AND source = $2 AND responsable_id = id) AS digest"
        " FROM unnest($3::text[]) AS t(id)) AS found WHERE digest IS NOT NULL",
        scope.academie,
        scope.source,
        list(responsable_ids),
    )
    return {row["responsable_id"]: row["digest"] for row in rows}


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
    connection: asyncpg.Connection, changes: ScopeChanges, *, full: bool = True
) -> None:
    """Write the scope's new state: only the rows that differ from its last
    snapshot. A delta (``full`` false) deletes no responsable row. A
    statement with no row to write is not sent, so a school that did not
    change costs no round trip here."""
    scope = changes.scope
    await _save_eleves(connection, changes)
    await _save_scope_responsables(connection, changes, full=full)

    published = (*changes.responsables_added, *changes.responsables_changed)
    if published:
        await connection.execute(
            "INSERT INTO published_responsables"
            " (academie, source, responsable_id, digest) SELECT $1, $2, id, digest"
            " FROM unnest($3::text[], $4::text[]) AS t(id, digest)"
            " ON CONFLICT (academie, source, responsable_id)"
            " DO UPDATE SET digest = excluded.digest",
            scope.academie,
            scope.source,
            [payload.id for payload in published],
            [payload.digest for payload in published],
        )
    if changes.responsables_removed:
        await connection.execute(
            "DELETE FROM published_responsables WHERE academie = $1 AND source = $2"
            " AND responsable_id = ANY($3::text[])",
            scope.academie,
            scope.source,
            list(changes.responsables_removed),
        )


async def _save_eleves(connection: asyncpg.Connection, changes: ScopeChanges) -> None:
    scope = changes.scope
    # A pupil's digest covers its links, so only added and changed pupils
    # have new links to store.
    payloads = (*changes.eleves_added, *changes.eleves_changed)
    if payloads:
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
            [payload.id for payload in payloads],
            [payload.digest for payload in payloads],
            [" ".join(payload.links) for payload in payloads],
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
            list(changes.eleves_removed),
        )


async def _save_scope_responsables(
    connection: asyncpg.Connection, changes: ScopeChanges, *, full: bool
) -> None:
    scope = changes.scope
    if changes.responsables_read:
        await connection.execute(
            "INSERT INTO snapshot_responsables"
            " (academie, source, uai, responsable_id, digest)"
            " SELECT $1, $2, $3, id, digest FROM unnest($4::text[], $5::text[])"
            " AS t(id, digest)"
            " ON CONFLICT (academie, source, uai, responsable_id)"
            " DO UPDATE SET digest = excluded.digest",
            scope.academie,
            scope.source,
            scope.uai,
            [payload.id for payload in changes.responsables_read],
            [payload.digest for payload in changes.responsables_read],
        )
    if full and changes.responsables_left:
        await connection.execute(
            "DELETE FROM snapshot_responsables"
            " WHERE academie = $1 AND source = $2 AND uai = $3"
            " AND responsable_id = ANY($4::text[])",
            scope.academie,
            scope.source,
            scope.uai,
            list(changes.responsables_left),
        )
