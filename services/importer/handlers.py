"""Full imports: each school's export replaces what the importer last
published for its scope (académie, source, UAI)."""

from collections.abc import Set
from dataclasses import dataclass

import asyncpg

from services.importer.changes import Scope, ScopeChanges, compute_changes
from services.importer.mapping import eleve_events, responsable_events
from services.importer.records import SchoolExport
from services.importer.snapshot import (
    held_by_other_scopes,
    load_snapshot,
    lock_source,
    save_snapshot,
)
from services.importer.sources import SchoolFolder
from shared.logging import get_logger
from shared.outbox import enqueue

logger = get_logger(__name__)

EVENT_SOURCE = "educonnect/importer"


async def import_school(
    connection: asyncpg.Connection,
    export: SchoolExport,
    *,
    academie: str,
    held_by_run: Set[str] = frozenset(),
) -> ScopeChanges:
    """Apply one school's full export to its scope and return what changed.

    In one transaction, writes the scope's new snapshot and enqueues to the
    outbox, in this order: ``ResponsableImported`` for new or changed
    responsables, ``EleveImported`` for new or changed pupils,
    ``EleveRemoved`` for pupils absent from the export, and
    ``ResponsableRemoved`` for responsables that no scope of the source
    contains any more. ``held_by_run`` contains the responsable ids of the
    other exports of the same source in this run. They are not removed even
    if their scope has not been imported yet.
    """
    scope = Scope(academie, export.source, export.uai)
    responsables = responsable_events(export, academie)
    eleves = eleve_events(export, academie)

    async with connection.transaction():
        await lock_source(connection, scope)
        snapshot = await load_snapshot(connection, scope, responsables.keys())
        left = snapshot.responsables.keys() - responsables.keys()
        held_elsewhere = await held_by_other_scopes(connection, scope, left)
        held_elsewhere |= left & held_by_run

        changes = compute_changes(scope, responsables, eleves, snapshot, held_elsewhere)

        await save_snapshot(connection, changes, snapshot)
        for topic, key, event in changes.outbox_events():
            await enqueue(
                connection, topic=topic, key=key, event=event, source=EVENT_SOURCE
            )

    logger.info(
        "school_imported",
        academie=academie,
        source=scope.source,
        uai=scope.uai,
        eleves_added=len(changes.eleves_added),
        eleves_changed=len(changes.eleves_changed),
        eleves_removed=len(changes.eleves_removed),
        responsables_added=len(changes.responsables_added),
        responsables_changed=len(changes.responsables_changed),
        responsables_removed=len(changes.responsables_removed),
    )
    return changes


@dataclass(frozen=True, slots=True)
class ValidatedRun:
    """The schools of a run whose files were all read whole, and the
    responsable ids each source's exports hold."""

    schools: tuple[SchoolFolder, ...]
    responsable_ids: dict[str, frozenset[str]]


def validate_schools(schools: list[SchoolFolder]) -> ValidatedRun:
    """Read every school's files once, so that a run applies nothing when any
    file is rejected. Raises ``ImportFileRejected`` on the first bad file.

    Only the responsable ids are kept; the exports are read again when
    applied, so that memory contains one school at a time.
    """
    responsable_ids: dict[str, set[str]] = {}
    for school in schools:
        export = school.read()
        ids = responsable_ids.setdefault(export.source, set())
        ids.update(record.responsable_id for record in export.responsables)
        logger.debug("school_validated", source=school.source, uai=school.uai)
    return ValidatedRun(
        schools=tuple(schools),
        responsable_ids={
            source: frozenset(ids) for source, ids in responsable_ids.items()
        },
    )


async def import_schools(
    connection: asyncpg.Connection,
    run: ValidatedRun,
    *,
    academie: str,
    dry_run: bool = False,
) -> list[ScopeChanges]:
    """Import every school of a validated run, one transaction per school.

    A dry run does the same work inside an outer transaction that is rolled
    back at the end, so its counts are those a real run would give and
    nothing is written or published.
    """
    outer = connection.transaction() if dry_run else None
    if outer is not None:
        await outer.start()
    try:
        return [
            await import_school(
                connection,
                school.read(),
                academie=academie,
                held_by_run=run.responsable_ids.get(school.source, frozenset()),
            )
            for school in run.schools
        ]
    finally:
        if outer is not None:
            await outer.rollback()
