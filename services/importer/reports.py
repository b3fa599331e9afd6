"""Import reports: one ``imports`` row per run of the importer and its detail
lines in ``import_report_chunks``, read one row per line from the view
``import_report_lines`` (see migrations/002_imports.sql and
004_report_chunks.sql).

Lines are written on their own connection, outside the import's transaction,
so that a run that is held, rolled back as a dry run, or rejected still
leaves its report. The totals of a report are counted from its lines when
the run ends, so they always equal its detail lines.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import asyncpg

from services.importer.changes import ScopeChanges
from services.importer.errors import ImporterError, ImportFileRejected

Status = Literal["running", "applied", "held", "rejected", "dry_run", "failed"]
Kind = Literal["full", "delta"]


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One pupil or responsable an import added, changed, removed or held,
    or one file it rejected."""

    action: Literal["added", "changed", "removed", "held", "rejected"]
    entity: Literal["eleve", "responsable", "file"]
    entity_id: str
    reason: str
    source: str | None = None
    uai: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """A stored import report with its detail lines."""

    id: int
    academie: str
    kind: Kind
    status: Status
    started_at: datetime
    finished_at: datetime | None
    folders: tuple[str, ...]
    files: tuple[dict[str, Any], ...]
    reason: str | None
    totals: dict[str, dict[str, int]]
    measures: dict[str, int]
    confirmed_by: int | None
    confirms: int | None
    lines: tuple[ReportLine, ...]


# Reasons of the pupils added, by number of links: a first import reports
# every pupil, and most have one or two links.
_ELEVE_ADDED = [f"new in the export, {count} links" for count in range(8)]


def change_chunks(
    changes: ScopeChanges, previous_links: dict
) -> Iterator[tuple[str, str, list[str], list[str]]]:
    """Yield the report lines of one scope's changes, in outbox order, as
    ``(action, entity, ids, reasons)`` runs of one action and entity.

    ``previous_links`` maps a pupil id to the responsable ids of its links
    before the import, so that a changed pupil's line shows whether
    its links changed.
    """
    yield _same_reason(
        "added",
        "responsable",
        [payload.id for payload in changes.responsables_added],
        "new in the export",
    )
    yield _same_reason(
        "changed",
        "responsable",
        [payload.id for payload in changes.responsables_changed],
        "name, civilité or contact differs from the last published",
    )
    added = changes.eleves_added
    yield (
        "added",
        "eleve",
        [payload.id for payload in added],
        [
            _ELEVE_ADDED[count]
            if (count := len(payload.links)) < len(_ELEVE_ADDED)
            else f"new in the export, {count} links"
            for payload in added
        ],
    )
    reasons = []
    for payload in changes.eleves_changed:
        before = previous_links.get(payload.id, frozenset())
        after = frozenset(payload.links)
        if before != after:
            reason = f"links changed: {len(after - before)} added, "
            reason += f"{len(before - after)} removed"
        else:
            reason = "name, class or birth date differs from the last published"
        reasons.append(reason)
    yield (
        "changed",
        "eleve",
        [payload.id for payload in changes.eleves_changed],
        reasons,
    )
    yield _same_reason(
        "removed",
        "eleve",
        list(changes.eleves_removed),
        "absent from the full export, or left the school",
    )
    yield _same_reason(
        "removed",
        "responsable",
        list(changes.responsables_removed),
        "legal representative of no pupil in any school of the source",
    )


def _same_reason(
    action: str, entity: str, ids: list[str], reason: str
) -> tuple[str, str, list[str], list[str]]:
    return action, entity, ids, [reason] * len(ids)


async def start_import(
    connection: asyncpg.Connection,
    *,
    academie: str,
    kind: Kind,
    folders: Iterable[Path],
    confirms: int | None = None,
) -> int:
    """Insert a running import and return its id."""
    return await connection.fetchval(
        "INSERT INTO imports (academie, kind, status, folders, confirms)"
        " VALUES ($1, $2, 'running', $3, $4) RETURNING id",
        academie,
        kind,
        [str(folder) for folder in folders],
        confirms,
    )


async def record_files(
    connection: asyncpg.Connection, import_id: int, files: Iterable[Path]
) -> None:
    """Store the path, size and modification time of each file the run reads."""
    described = []
    for path in files:
        stat = path.stat()
        described.append(
            {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        )
    await connection.execute(
        "UPDATE imports SET files = $2::jsonb WHERE id = $1",
        import_id,
        json.dumps(described),
    )


class ReportWriter:
    """Appends detail lines to one import's report, numbering them.

    Consecutive lines of one action, entity, source and school are stored
    as one chunk (see migrations/004_report_chunks.sql). Lines are kept
    until more than ``buffer_lines`` wait, then written with one COPY;
    ``flush`` writes those still waiting. The default writes every call's
    lines at once.
    """

    def __init__(
        self, connection: asyncpg.Connection, import_id: int, *, buffer_lines: int = 0
    ) -> None:
        self.connection = connection
        self.import_id = import_id
        self.count = 0
        self.buffer_lines = buffer_lines
        self._waiting = 0
        # Chunk records: import id, first line, action, entity, source, uai,
        # then the lists of ids and reasons that grow with each line.
        self._chunks: list[tuple] = []

    async def write(self, lines: Iterable[ReportLine]) -> None:
        """Append ``lines``; write them when more than ``buffer_lines`` wait."""
        for line in lines:
            self._append(
                line.action,
                line.entity,
                line.source,
                line.uai,
                [line.entity_id],
                [line.reason],
            )
        await self._flush_when_full()

    async def write_changes(self, changes: ScopeChanges, previous_links: dict) -> None:
        """Append the lines of a scope's changes (see ``change_chunks``)."""
        scope = changes.scope
        for action, entity, ids, reasons in change_chunks(changes, previous_links):
            if ids:
                self._append(action, entity, scope.source, scope.uai, ids, reasons)
        await self._flush_when_full()

    def _append(
        self,
        action: str,
        entity: str,
        source: str | None,
        uai: str | None,
        ids: list[str],
        reasons: list[str],
    ) -> None:
        chunks = self._chunks
        chunk = chunks[-1] if chunks else None
        if chunk is None or chunk[2:6] != (action, entity, source, uai):
            chunks.append(
                (
                    self.import_id,
                    self.count + 1,
                    action,
                    entity,
                    source,
                    uai,
                    ids,
                    reasons,
                )
            )
        else:
            chunk[6].extend(ids)
            chunk[7].extend(reasons)
        self.count += len(ids)
        self._waiting += len(ids)

    async def _flush_when_full(self) -> None:
        if self._waiting > self.buffer_lines:
            await self.flush()

    async def flush(self) -> None:
        """Write the lines that wait, with one COPY."""
        chunks, self._chunks, self._waiting = self._chunks, [], 0
        if chunks:
            await self.connection.copy_records_to_table(
                "import_report_chunks",
                records=chunks,
                columns=(
                    "import_id",
                    "first_line",
                    "action",
                    "entity",
                    "source",
                    "uai",
                    "entity_ids",
                    "reasons",
                ),
            )

    async def mark_held(self) -> None:
        """Turn every line into a ``held`` line whose reason starts with what
        the line would have done."""
        await self.flush()
        await self.connection.execute(
            "UPDATE import_report_chunks SET action = 'held', reasons = ARRAY("
            "  SELECT 'would be ' || action || ': ' || reason"
            "  FROM unnest(reasons) WITH ORDINALITY AS line (reason, n) ORDER BY n)"
            " WHERE import_id = $1",
            self.import_id,
        )


async def finish_import(
    connection: asyncpg.Connection,
    import_id: int,
    status: Status,
    *,
    reason: str | None = None,
    measures: dict[str, int] | None = None,
) -> dict[str, dict[str, int]]:
    """Store the end of a run with totals counted from its lines, and return
    those totals."""
    rows = await connection.fetch(
        "SELECT entity, action, sum(cardinality(entity_ids))::bigint AS n"
        " FROM import_report_chunks WHERE import_id = $1"
        " GROUP BY entity, action ORDER BY entity, action",
        import_id,
    )
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        totals.setdefault(row["entity"], {})[row["action"]] = row["n"]
    await connection.execute(
        "UPDATE imports SET status = $2, reason = $3, totals = $4::jsonb,"
        " measures = $5::jsonb, finished_at = now() WHERE id = $1",
        import_id,
        status,
        reason,
        json.dumps(totals),
        json.dumps(measures or {}),
    )
    return totals


async def reject_import(
    connection: asyncpg.Connection, import_id: int, error: ImporterError
) -> None:
    """Store a rejected run with one line naming the file, where and why."""
    if isinstance(error, ImportFileRejected):
        line = ReportLine(
            "rejected", "file", error.file, f"{error.location}: {error.reason}"
        )
    else:
        line = ReportLine("rejected", "file", "-", str(error))
    # Lines of the schools imported before the rejected file were rolled back.
    await connection.execute(
        "DELETE FROM import_report_chunks WHERE import_id = $1", import_id
    )
    await ReportWriter(connection, import_id).write([line])
    await finish_import(connection, import_id, "rejected", reason=str(error))


async def load_report(
    connection: asyncpg.Connection,
    import_id: int | None = None,
    *,
    line_limit: int | None = None,
) -> Report | None:
    """Return the report of ``import_id``, or of the last import when None;
    None when there is no such import. ``line_limit`` keeps the first lines
    of each entity and action."""
    if import_id is None:
        row = await connection.fetchrow(
            "SELECT * FROM imports ORDER BY id DESC LIMIT 1"
        )
    else:
        row = await connection.fetchrow(
            "SELECT * FROM imports WHERE id = $1", import_id
        )
    if row is None:
        return None
    lines = await connection.fetch(
        "SELECT action, entity, entity_id, reason, source, uai FROM ("
        "  SELECT *, row_number() OVER"
        "    (PARTITION BY entity, action ORDER BY line_number) AS rank"
        "  FROM import_report_lines WHERE import_id = $1"
        ") AS numbered WHERE $2::integer IS NULL OR rank <= $2"
        " ORDER BY line_number",
        row["id"],
        line_limit,
    )
    return Report(
        id=row["id"],
        academie=row["academie"],
        kind=row["kind"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        folders=tuple(row["folders"]),
        files=tuple(json.loads(row["files"])),
        reason=row["reason"],
        totals=json.loads(row["totals"]),
        measures=json.loads(row["measures"]),
        confirmed_by=row["confirmed_by"],
        confirms=row["confirms"],
        lines=tuple(ReportLine(**dict(line)) for line in lines),
    )


def format_report(report: Report) -> Iterator[str]:
    """Yield the lines that print a report."""
    yield (
        f"import {report.id}: académie {report.academie}, {report.kind}, "
        f"{report.status}, started {report.started_at:%Y-%m-%d %H:%M:%S %Z}"
    )
    yield f"folders: {' '.join(report.folders)}"
    if report.reason:
        yield f"reason: {report.reason}"
    if report.measures:
        yield "measures: " + ", ".join(
            f"{name} {value}" for name, value in report.measures.items()
        )
    if report.confirms is not None:
        yield f"confirms held import {report.confirms}"
    if report.confirmed_by is not None:
        yield f"confirmed: applied by import {report.confirmed_by}"
    yield "totals: " + (format_totals(report.totals) or "nothing")
    for line in report.lines:
        where = " ".join(filter(None, (line.source, line.uai)))
        where = f" {where}" if where else ""
        yield f"  {line.action} {line.entity} {line.entity_id}{where}: {line.reason}"


def format_totals(totals: dict[str, dict[str, int]]) -> str:
    """Return totals as ``eleve added 3 removed 1; responsable added 2``."""
    return "; ".join(
        entity + " " + " ".join(f"{action} {n}" for action, n in actions.items())
        for entity, actions in totals.items()
    )


async def move_paths(
    connection: asyncpg.Connection, import_id: int, old: Path, new: Path
) -> None:
    """Replace the folder ``old`` by ``new`` in the folders and files of an
    import, after its drop moved."""
    row = await connection.fetchrow(
        "SELECT folders, files FROM imports WHERE id = $1", import_id
    )
    folders = [_moved(Path(folder), old, new) for folder in row["folders"]]
    files = [
        {**file, "path": _moved(Path(file["path"]), old, new)}
        for file in json.loads(row["files"])
    ]
    await connection.execute(
        "UPDATE imports SET folders = $2, files = $3::jsonb WHERE id = $1",
        import_id,
        folders,
        json.dumps(files),
    )


def _moved(path: Path, old: Path, new: Path) -> str:
    return str(new / path.relative_to(old)) if path.is_relative_to(old) else str(path)
