"""Imports of an académie's school exports: each school's export replaces
(full) or updates (delta) what the importer last published for its scope
(académie, source, UAI), and the whole run is applied, held or rolled back
as one."""

import time
from collections.abc import Callable, Sequence, Set
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TextIO

import asyncpg

from services.importer.changes import (
    ExportComparison,
    Scope,
    ScopeChanges,
    Snapshot,
    compute_changes,
    responsable_removed,
)
from services.importer.reading import read_schools
from services.importer.reports import Kind, ReportLine, ReportWriter
from services.importer.snapshot import (
    held_by_other_scopes,
    load_published,
    load_snapshot,
    lock_source,
    save_snapshot,
)
from services.importer.sources import RunIneIndex, SchoolFolder
from shared.logging import get_logger
from shared.outbox import enqueue_payloads

logger = get_logger(__name__)

EVENT_SOURCE = "educonnect/importer"

# Called with (phase, schools done, schools in all, pupils so far): with 0
# done when a phase starts, then after each school.
ProgressCallback = Callable[[str, int, int, int], None]

# Outbox rows and report lines of a run wait until this many are ready, then
# go to PostgreSQL with one COPY. A weekly run changes a few records in
# nearly every school, so a COPY per school cost a round trip per school.
WRITE_BATCH_ROWS = 5_000

OutboxEntry = tuple[str, str, str, str]


async def import_school(
    connection: asyncpg.Connection,
    comparison: ExportComparison,
    snapshot: Snapshot,
    *,
    academie: str,
    held_by_run: Set[str] = frozenset(),
    full: bool = True,
    report: ReportWriter | None = None,
    removal_candidates: set[str] | None = None,
    outbox: list[OutboxEntry],
) -> ScopeChanges:
    """Apply one school's export, compared with ``snapshot``, its scope's
    snapshot, to its scope and return what changed.

    The caller holds the source's lock (``lock_source``), in a transaction
    that it rolls back whole if this raises. Writes the scope's new snapshot
    and appends its events to ``outbox``, for the caller to enqueue in that
    order: ``ResponsableImported`` for new or changed responsables,
    ``EleveImported`` for new or changed pupils, ``EleveRemoved`` for pupils
    absent from a full export, and ``ResponsableRemoved`` for responsables
    that no scope of the source contains any more.

    ``held_by_run`` contains the responsable ids of the other exports of the
    same source in this run. They are not removed even if their scope has
    not been imported yet. When ``removal_candidates`` is given, no
    responsable is removed here: those that left the scope are added to it,
    for ``remove_responsables`` to remove at the end of the run. A delta
    (``full`` false) removes no responsable.
    """
    scope = Scope(academie, comparison.source, comparison.uai)
    left = set(comparison.responsables_left)

    published = await load_published(
        connection, scope, [payload.id for payload in comparison.responsables]
    )
    snapshot = replace(snapshot, published=published)
    if removal_candidates is not None:
        removal_candidates.update(left)
        held_elsewhere = left
    else:
        held_elsewhere = await held_by_other_scopes(connection, scope, left)
        held_elsewhere |= left & held_by_run

    changes = compute_changes(scope, comparison, snapshot, held_elsewhere)
    await save_snapshot(connection, changes)
    outbox.extend(changes.outbox_events())
    if report is not None:
        await report.write_changes(changes, snapshot.eleve_links)

    logger.info(
        "school_imported",
        academie=academie,
        source=scope.source,
        uai=scope.uai,
        full=full,
        eleves_added=len(changes.eleves_added),
        eleves_changed=len(changes.eleves_changed),
        eleves_removed=len(changes.eleves_removed),
        responsables_added=len(changes.responsables_added),
        responsables_changed=len(changes.responsables_changed),
        responsables_removed=len(changes.responsables_removed),
    )
    return changes


@dataclass(frozen=True, slots=True)
class SchoolSummary:
    """Counts of what one school's import changed."""

    source: str
    uai: str
    eleves_added: int
    eleves_changed: int
    eleves_removed: int
    responsables_added: int
    responsables_changed: int
    responsables_removed: int

    @classmethod
    def of(cls, changes: ScopeChanges) -> "SchoolSummary":
        """Return the counts of ``changes``."""
        return cls(
            source=changes.scope.source,
            uai=changes.scope.uai,
            eleves_added=len(changes.eleves_added),
            eleves_changed=len(changes.eleves_changed),
            eleves_removed=len(changes.eleves_removed),
            responsables_added=len(changes.responsables_added),
            responsables_changed=len(changes.responsables_changed),
            responsables_removed=len(changes.responsables_removed),
        )

    def counts(self) -> tuple[int, ...]:
        """Return the six counts, pupils first."""
        return (
            self.eleves_added,
            self.eleves_changed,
            self.eleves_removed,
            self.responsables_added,
            self.responsables_changed,
            self.responsables_removed,
        )


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """Counts of a run's changes, the measures of its hold, and the reason it
    was held (None when it was not)."""

    schools: tuple[SchoolSummary, ...]
    # Responsables removed at the end of the run, by source.
    responsables_removed: dict[str, int] = field(default_factory=dict)
    measures: dict[str, int] = field(default_factory=dict)
    held_reason: str | None = None


async def import_schools(
    connection: asyncpg.Connection,
    schools: Sequence[SchoolFolder],
    *,
    academie: str,
    kind: Kind = "full",
    dry_run: bool = False,
    hold_share: float | None = None,
    report: ReportWriter | None = None,
    progress: ProgressCallback | None = None,
    read_workers: int = 0,
) -> RunOutcome:
    """Read and import every school in one transaction, then remove the
    responsables that no school of their source contains any more.

    Each file is read once, one school at a time, so memory contains one
    school, and the few that ``read_workers`` worker processes read ahead
    (see ``services.importer.reading``). A file that is rejected raises
    ``ImportFileRejected`` and rolls back the whole run, and so do two
    schools of one source that carry the same INE. The transaction is also
    rolled back for a dry run, and for a full run whose removals exceed
    ``hold_share`` of the pupils or of the links its scopes had. Then the
    counts and report lines are those a real run gives, and nothing is
    written or published. Otherwise it is committed. None as ``hold_share``
    applies any removal, because an operator confirmed it.
    """
    full = kind == "full"
    summaries: list[SchoolSummary] = []
    measures = {"eleves_before": 0, "eleves_removed": 0}
    measures |= {"links_before": 0, "links_removed": 0}
    candidates: dict[str, set[str]] = {}
    ines = RunIneIndex(schools)
    pupils = 0
    outbox: list[OutboxEntry] = []

    async def enqueue_waiting() -> None:
        await enqueue_payloads(connection, outbox, source=EVENT_SOURCE)
        outbox.clear()

    async def load(school: SchoolFolder) -> Snapshot:
        return await load_snapshot(
            connection, Scope(academie, school.source, school.uai)
        )

    if progress is not None:
        progress("import", 0, len(schools), 0)
    transaction = connection.transaction()
    await transaction.start()
    try:
        # Sources are locked before any snapshot is read; in one order, so
        # that two runs of one académie wait rather than deadlock.
        for source in sorted({school.source for school in schools}):
            await lock_source(connection, academie, source)
        reading = read_schools(
            schools, load, academie=academie, full=full, workers=read_workers
        )
        async with aclosing(reading) as compared:
            done = 0
            async for snapshot, comparison in compared:
                school = schools[done]
                ines.add(done, comparison.ine_hashes)
                done += 1
                changes = await import_school(
                    connection,
                    comparison,
                    snapshot,
                    academie=academie,
                    full=full,
                    report=report,
                    removal_candidates=candidates.setdefault(school.source, set()),
                    outbox=outbox,
                )
                if len(outbox) >= WRITE_BATCH_ROWS:
                    await enqueue_waiting()
                summaries.append(SchoolSummary.of(changes))
                measures["eleves_before"] += changes.eleves_before
                measures["eleves_removed"] += len(changes.eleves_removed)
                measures["links_before"] += changes.links_before
                measures["links_removed"] += changes.links_removed
                pupils += changes.eleve_count
                if progress is not None:
                    progress("import", done, len(schools), pupils)
        ines.check()
        await enqueue_waiting()

        removed = {
            source: await remove_responsables(
                connection, academie, source, ids, report=report
            )
            for source, ids in candidates.items()
        }
        if report is not None:
            await report.flush()
        held_reason = None
        if full and hold_share is not None:
            held_reason = removal_over_share(measures, hold_share)
    except BaseException:
        await transaction.rollback()
        raise
    if dry_run or held_reason is not None:
        await transaction.rollback()
    else:
        await transaction.commit()

    if held_reason is not None:
        logger.warning("import_held", academie=academie, **measures)
        if report is not None and not dry_run:
            await report.mark_held()
    return RunOutcome(tuple(summaries), removed, measures, held_reason)


async def remove_responsables(
    connection: asyncpg.Connection,
    academie: str,
    source: str,
    candidates: Set[str],
    *,
    report: ReportWriter | None = None,
) -> int:
    """Remove those of ``candidates`` that no scope of the source contains
    any more, after every school of the run was imported; return how many.

    Their ``ResponsableRemoved`` events come after the run's pupil events, so
    a subscriber receives a removed pupil before the responsable it linked to.
    """
    rows = await connection.fetch(
        "SELECT DISTINCT responsable_id FROM snapshot_responsables"
        " WHERE academie = $1 AND source = $2 AND responsable_id = ANY($3::text[])",
        academie,
        source,
        list(candidates),
    )
    removed = sorted(set(candidates) - {row["responsable_id"] for row in rows})
    if not removed:
        return 0
    await enqueue_payloads(
        connection,
        (responsable_removed(academie, source, id_) for id_ in removed),
        source=EVENT_SOURCE,
    )
    await connection.execute(
        "DELETE FROM published_responsables"
        " WHERE academie = $1 AND source = $2 AND responsable_id = ANY($3::text[])",
        academie,
        source,
        removed,
    )
    if report is not None:
        await report.write(
            ReportLine(
                "removed",
                "responsable",
                id_,
                "legal representative of no pupil in any school of the source",
                source=source,
            )
            for id_ in removed
        )
    logger.info(
        "responsables_removed", academie=academie, source=source, count=len(removed)
    )
    return len(removed)


def removal_over_share(measures: dict[str, int], share: float) -> str | None:
    """Return why a full run removes more than ``share`` of its scopes'
    pupils or links, or None when it does not."""
    for name in ("eleves", "links"):
        before, removed = measures[f"{name}_before"], measures[f"{name}_removed"]
        if before and removed / before > share:
            label = "pupils" if name == "eleves" else "links"
            return (
                f"would remove {removed} of {before} {label} "
                f"({removed / before:.1%}, more than {share:.0%}): held until an "
                "operator confirms it with 'python -m services.importer confirm'"
            )
    return None


class ProgressPrinter:
    """Progress of a run: logs the phase and pupils per second, and prints
    them to a stream, at most once per ``interval`` seconds and after the
    last school of a phase."""

    def __init__(self, stream: TextIO | None, *, interval: float = 1.0) -> None:
        self.stream = stream
        self.interval = interval
        self.phase = ""
        self.started = time.monotonic()
        self.last = float("-inf")

    def __call__(self, phase: str, done: int, total: int, pupils: int) -> None:
        """Report progress after a school."""
        now = time.monotonic()
        if phase != self.phase:
            self.phase, self.started = phase, now
        if done == 0 or (done != total and now - self.last < self.interval):
            return
        self.last = now
        rate = pupils / max(now - self.started, 1e-6)
        logger.info(
            "import_progress",
            phase=phase,
            schools_done=done,
            schools=total,
            pupils=pupils,
            pupils_per_second=round(rate),
        )
        if self.stream is not None:
            print(
                f"{phase}: {done}/{total} schools, {pupils} pupils, "
                f"{rate:.0f} pupils/s",
                file=self.stream,
                flush=True,
            )
