"""Imports of the drops waiting in the depots: once (``scan``), again and
again (``watch``), or following the weekly plan (``schedule``)."""

import asyncio
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg

from services.importer import reports
from services.importer.depots import (
    Drop,
    UnrecognisedDrop,
    find_drops,
    is_due,
    move_with_report,
)
from services.importer.plan import WEEKDAYS, Plan
from services.importer.runs import (
    EXIT_FAILED,
    EXIT_HELD,
    EXIT_OK,
    EXIT_REJECTED,
    import_folders,
)
from services.importer.settings import ImporterSettings
from shared.logging import get_logger

logger = get_logger(__name__)

# The weekly plan follows the day in metropolitan France.
PLAN_TIMEZONE = ZoneInfo("Europe/Paris")
OUTCOMES = {EXIT_OK: "done", EXIT_REJECTED: "rejected", EXIT_HELD: "held"}


async def scan(
    settings: ImporterSettings,
    root: Path,
    plan: Plan,
    *,
    academie: str | None = None,
    weekday: str | None = None,
) -> int:
    """Import the drops waiting below ``root`` and move each to ``done/``,
    ``rejected/`` or ``held/`` with its report.

    ``academie`` keeps only that académie's drops. ``weekday`` keeps only
    the drops due that day in the plan: full exports of the académies
    planned on it, and deltas. Returns 1 when an import failed (its drop
    stays in place), else 0.
    """
    code = EXIT_OK
    for drop in find_drops(root, plan):
        if isinstance(drop, UnrecognisedDrop):
            if academie is None and weekday is None:
                target = move_with_report(drop.path, "rejected", drop.reason + "\n")
                logger.error("drop_rejected", drop=str(target), reason=drop.reason)
            continue
        if academie is not None and drop.academie != academie:
            continue
        if weekday is not None and not is_due(drop, plan, weekday):
            continue
        if await import_drop(settings, drop) == EXIT_FAILED:
            code = EXIT_FAILED
    return code


async def import_drop(settings: ImporterSettings, drop: Drop) -> int:
    """Import one drop, move it with its report, and return the exit code."""
    logger.info(
        "drop_import_started",
        drop=str(drop.path),
        academie=drop.academie,
        source=drop.source,
        kind=drop.kind,
    )
    out = io.StringIO()
    code, import_id = await import_folders(
        settings,
        academie=drop.academie,
        folders=[drop.path],
        kind=drop.kind,
        out=out,
    )
    outcome = OUTCOMES.get(code)
    if outcome is None:
        logger.error("drop_import_failed", drop=str(drop.path), import_id=import_id)
        return code

    report = out.getvalue()
    if import_id is not None:
        report = await _stored_report(settings, import_id) or report
    target = move_with_report(drop.path, outcome, report)
    if outcome == "held" and import_id is not None:
        # ``confirm`` reads the files where they are now.
        await _move_paths(settings, import_id, drop.path, target)
    logger.info("drop_imported", drop=str(target), import_id=import_id, outcome=outcome)
    return code


async def watch(
    settings: ImporterSettings,
    root: Path,
    plan: Plan,
    *,
    interval: float = 60.0,
    by_plan: bool = False,
    scans: int | None = None,
) -> None:
    """Scan the depots every ``interval`` seconds, ``scans`` times or until
    cancelled. With ``by_plan``, full drops wait for their académie's day
    (in Europe/Paris) and deltas are imported any day."""
    done = 0
    while scans is None or done < scans:
        weekday = None
        if by_plan:
            weekday = WEEKDAYS[datetime.now(PLAN_TIMEZONE).weekday()]
        await scan(settings, root, plan, weekday=weekday)
        done += 1
        if scans is None or done < scans:
            await asyncio.sleep(interval)


async def _stored_report(settings: ImporterSettings, import_id: int) -> str | None:
    connection = await _connect(settings)
    try:
        report = await reports.load_report(connection, import_id, line_limit=100)
    finally:
        await connection.close()
    if report is None:
        return None
    return "\n".join(reports.format_report(report)) + "\n"


async def _move_paths(
    settings: ImporterSettings, import_id: int, old: Path, new: Path
) -> None:
    connection = await _connect(settings)
    try:
        await reports.move_paths(connection, import_id, old, new)
    finally:
        await connection.close()


async def _connect(settings: ImporterSettings) -> asyncpg.Connection:
    return await asyncpg.connect(
        settings.database_url, server_settings={"search_path": "importer,public"}
    )
