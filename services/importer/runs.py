"""Runs of the importer behind the command line: an import of folders (full,
delta or dry run) with its stored report, the confirmation of a held import,
and the printing of a report."""

import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import asyncpg
from prometheus_client import REGISTRY, write_to_textfile

from services.importer import reports
from services.importer.depots import held_drop_depot, move_with_report
from services.importer.errors import ImporterError
from services.importer.handlers import (
    WRITE_BATCH_ROWS,
    ProgressPrinter,
    RunOutcome,
    import_schools,
)
from services.importer.reading import default_workers
from services.importer.reports import Kind
from services.importer.settings import ImporterSettings
from services.importer.siecle import ReadLimits
from services.importer.sources import find_school_folders
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.logging import get_logger
from shared.observability import count_import_rows
from shared.outbox import OutboxRelay

logger = get_logger(__name__)

SCHEMA = "importer"
MIGRATIONS = Path(__file__).parent / "migrations"

EXIT_OK, EXIT_FAILED, EXIT_REJECTED, EXIT_HELD = 0, 1, 2, 3
DRY_RUN_SAMPLE = 5
# Events the relay reads per transaction: a run's events share outbox rows of
# a thousand, so about 25 rows.
RELAY_BATCH_SIZE = 25_000
# Import messages are under 1 KB each. Kafka batches of 256 KB instead of the
# default 16 KB cut the time to publish 50,000 of them by a fifth, as measured
# on the development machine. Brokers accept batches of 1 MB by default.
RELAY_KAFKA_BATCH_BYTES = 256 * 1024


async def run_import(
    settings: ImporterSettings,
    *,
    academie: str,
    folders: Sequence[Path],
    dry_run: bool = False,
    kind: Kind = "full",
    confirms: int | None = None,
    out: TextIO = sys.stdout,
    progress: TextIO | None = None,
) -> int:
    """Import the school exports of ``folders``, store and print its report
    to ``out``, and return the exit code.

    ``confirms`` is the id of a held import that an operator confirmed: the
    run is then applied whatever share it removes. ``progress`` receives the
    phase and pupils per second while the run lasts.
    """
    code, _ = await import_folders(
        settings,
        academie=academie,
        folders=folders,
        dry_run=dry_run,
        kind=kind,
        confirms=confirms,
        out=out,
        progress=progress,
    )
    return code


async def import_folders(
    settings: ImporterSettings,
    *,
    academie: str,
    folders: Sequence[Path],
    dry_run: bool = False,
    kind: Kind = "full",
    confirms: int | None = None,
    out: TextIO = sys.stdout,
    progress: TextIO | None = None,
) -> tuple[int, int | None]:
    """Do what ``run_import`` does; return the exit code and the import id,
    None when the run failed before it was stored."""
    import_id = None
    logger.info("import_started", academie=academie, kind=kind, dry_run=dry_run)
    status = "failed"
    try:
        await apply_migrations(
            settings.database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS
        )
        pool = await create_pool(settings.database_url, SCHEMA, min_size=2, max_size=2)
    except Exception as exc:
        logger.exception("import_failed", academie=academie)
        print(f"error: import failed: {exc!r}", file=sys.stderr)
        return EXIT_FAILED, import_id

    try:
        async with pool.acquire() as report_connection:
            import_id = await reports.start_import(
                report_connection,
                academie=academie,
                kind=kind,
                folders=folders,
                confirms=confirms,
            )
            try:
                outcome = await _import(
                    pool,
                    report_connection,
                    import_id,
                    settings,
                    academie=academie,
                    folders=folders,
                    dry_run=dry_run,
                    kind=kind,
                    confirmed=confirms is not None,
                    progress=progress,
                )
            except ImporterError as exc:
                await reports.reject_import(report_connection, import_id, exc)
                logger.error(
                    "import_rejected",
                    academie=academie,
                    import_id=import_id,
                    error=str(exc),
                )
                print(f"error: {exc}", file=sys.stderr)
                print(f"import {import_id}: rejected, nothing applied", file=out)
                return EXIT_REJECTED, import_id
            except Exception as exc:
                await reports.finish_import(
                    report_connection, import_id, "failed", reason=repr(exc)
                )
                raise

            if dry_run:
                status = "dry_run"
            elif outcome.held_reason is not None:
                status = "held"
            else:
                status = "applied"
            totals = await reports.finish_import(
                report_connection,
                import_id,
                status,
                reason=outcome.held_reason,
                measures=outcome.measures,
            )
            if confirms is not None and status == "applied":
                await report_connection.execute(
                    "UPDATE imports SET confirmed_by = $1 WHERE id = $2",
                    import_id,
                    confirms,
                )
            _print_summary(outcome, dry_run=dry_run, out=out)
            summary = reports.format_totals(totals) or "no change"
            print(f"import {import_id}: {status}, {summary}", file=out)
            if outcome.held_reason is not None:
                print(f"held: {outcome.held_reason}", file=out)
            if dry_run:
                report = await reports.load_report(
                    report_connection, import_id, line_limit=DRY_RUN_SAMPLE
                )
                for line in list(reports.format_report(report))[1:]:
                    print(line, file=out)
        if status == "applied":
            await _publish_outbox(pool, settings)
            _record_metrics(outcome, settings.metrics_path)
    except Exception as exc:
        logger.exception("import_failed", academie=academie)
        print(f"error: import failed: {exc!r}", file=sys.stderr)
        return EXIT_FAILED, import_id
    finally:
        await pool.close()

    logger.info(
        "import_finished",
        academie=academie,
        import_id=import_id,
        status=status,
        schools=len(outcome.schools),
    )
    return (EXIT_HELD if status == "held" else EXIT_OK), import_id


async def _import(
    pool: asyncpg.Pool,
    report_connection: asyncpg.Connection,
    import_id: int,
    settings: ImporterSettings,
    *,
    academie: str,
    folders: Sequence[Path],
    dry_run: bool,
    kind: Kind,
    confirmed: bool,
    progress: TextIO | None,
) -> RunOutcome:
    printer = ProgressPrinter(progress)
    schools = find_school_folders(
        folders,
        ReadLimits(settings.max_xml_bytes, settings.max_compression_ratio),
    )
    await reports.record_files(
        report_connection,
        import_id,
        [path for school in schools for path in (school.eleves, school.responsables)],
    )
    async with pool.acquire() as connection:
        # The snapshot tables fill up within the run's one transaction. A
        # generic plan made while they looked empty would scan them whole for
        # every school, so each query is planned with its values instead.
        await connection.execute("SET plan_cache_mode = force_custom_plan")
        return await import_schools(
            connection,
            schools,
            academie=academie,
            kind=kind,
            dry_run=dry_run,
            hold_share=None if confirmed else settings.hold_share,
            report=reports.ReportWriter(
                report_connection, import_id, buffer_lines=WRITE_BATCH_ROWS
            ),
            progress=printer,
            read_workers=(
                default_workers()
                if settings.read_workers is None
                else settings.read_workers
            ),
        )


async def confirm_import(
    settings: ImporterSettings,
    import_id: int,
    *,
    out: TextIO = sys.stdout,
    progress: TextIO | None = None,
) -> int:
    """Apply the held import ``import_id`` again from the same files, whatever
    share it removes, and return the exit code.

    The files must be those the held run read (same paths, sizes and
    modification times): the operator confirmed what that run reported.
    """
    connection = await asyncpg.connect(settings.database_url)
    try:
        row = await connection.fetchrow(
            "SELECT * FROM importer.imports WHERE id = $1", import_id
        )
    finally:
        await connection.close()
    problem = _confirm_problem(import_id, row)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_FAILED
    folders = [Path(folder) for folder in row["folders"]]
    report = io.StringIO()
    code = await run_import(
        settings,
        academie=row["academie"],
        folders=folders,
        kind=row["kind"],
        confirms=import_id,
        out=report,
        progress=progress,
    )
    out.write(report.getvalue())
    if code == EXIT_OK:
        # A drop held in a depot joins the drops applied.
        for folder in folders:
            depot = held_drop_depot(folder)
            if depot is not None:
                move_with_report(folder, "done", report.getvalue(), depot=depot)
    return code


def _confirm_problem(import_id: int, row: asyncpg.Record | None) -> str | None:
    if row is None:
        return f"import {import_id} not found"
    if row["status"] != "held":
        return f"import {import_id} is {row['status']}, not held: nothing to confirm"
    if row["confirmed_by"] is not None:
        return f"import {import_id} was already applied by import {row['confirmed_by']}"
    for file in json.loads(row["files"]):
        path = Path(file["path"])
        if not path.is_file():
            return f"file {path} of held import {import_id} not found: import again"
        stat = path.stat()
        if (stat.st_size, stat.st_mtime_ns) != (file["size"], file["mtime_ns"]):
            return (
                f"file {path} changed since import {import_id} was held: "
                "import it again to review what it changes"
            )
    return None


async def print_report(
    settings: ImporterSettings,
    import_id: int | None,
    *,
    line_limit: int | None = 50,
    out: TextIO = sys.stdout,
) -> int:
    """Print the report of ``import_id``, or of the last import, and return
    the exit code."""
    await apply_migrations(settings.database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS)
    connection = await asyncpg.connect(settings.database_url)
    try:
        await connection.execute(f"SET search_path TO {SCHEMA}")
        report = await reports.load_report(connection, import_id, line_limit=line_limit)
    finally:
        await connection.close()
    if report is None:
        which = (
            "no import yet" if import_id is None else f"import {import_id} not found"
        )
        print(f"error: {which}", file=sys.stderr)
        return EXIT_FAILED
    for line in reports.format_report(report):
        print(line, file=out)
    return EXIT_OK


async def _publish_outbox(pool: asyncpg.Pool, settings: ImporterSettings) -> None:
    # Events that earlier runs could not publish go out too: they stayed in
    # the outbox.
    # A full import of an académie enqueues hundreds of thousands of events:
    # larger batches cost fewer round trips to PostgreSQL and Kafka.
    relay = OutboxRelay(
        pool,
        settings.kafka_bootstrap_servers,
        schema=SCHEMA,
        batch_size=RELAY_BATCH_SIZE,
        max_batch_bytes=RELAY_KAFKA_BATCH_BYTES,
    )
    await relay.start()
    try:
        published = await relay.drain()
    finally:
        await relay.stop()
    logger.info("outbox_drained", published=published)


def _record_metrics(outcome: RunOutcome, metrics_path: Path | None) -> None:
    """Count the records an applied run changed and, when ``metrics_path`` is
    set, write the counters there for the node exporter to collect."""
    changes = ("added", "changed", "removed")
    for school in outcome.schools:
        counts = school.counts()
        for index, change in enumerate(changes):
            count_import_rows(school.source, "eleve", change, counts[index])
            count_import_rows(school.source, "responsable", change, counts[3 + index])
    for source, removed in outcome.responsables_removed.items():
        count_import_rows(source, "responsable", "removed", removed)
    if metrics_path is not None:
        write_to_textfile(str(metrics_path), REGISTRY)


def _print_summary(outcome: RunOutcome, *, dry_run: bool, out: TextIO) -> None:
    totals = [0] * 6
    for school in outcome.schools:
        counts = school.counts()
        totals = [total + count for total, count in zip(totals, counts, strict=True)]
        print(f"{school.source} {school.uai}: {_format_counts(counts)}", file=out)
    for source, removed in outcome.responsables_removed.items():
        totals[5] += removed
        if removed:
            print(f"responsables removed from {source}: {removed}", file=out)
    prefix = "dry run, nothing written or published: " if dry_run else ""
    print(
        f"{prefix}total {len(outcome.schools)} schools: {_format_counts(totals)}",
        file=out,
    )


def _format_counts(counts: Sequence[int]) -> str:
    eleves, responsables = counts[:3], counts[3:]
    return "eleves added {} changed {} removed {}, ".format(
        *eleves
    ) + "responsables added {} changed {} removed {}".format(*responsables)
