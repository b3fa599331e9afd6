"""Command line of the importer.

    python -m services.importer import --academie CODE [--dry-run] FOLDER...

Applies the schema migrations, reads and validates every school export found
in the folders, imports each school in its own transaction, prints one line
per school and a total, then publishes the outbox to Kafka. Exit codes: 0 on
success, 2 when a file or folder is rejected (nothing of the run is applied),
1 on any other failure.
"""

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import asyncpg
from pydantic import ValidationError

from services.importer.changes import ScopeChanges
from services.importer.errors import ImporterError
from services.importer.handlers import import_schools, validate_schools
from services.importer.settings import ImporterSettings
from services.importer.sources import find_school_folders
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.logging import (
    configure_logging,
    correlation_id_var,
    get_logger,
    new_correlation_id,
)
from shared.outbox import OutboxRelay

logger = get_logger(__name__)

SCHEMA = "importer"
MIGRATIONS = Path(__file__).parent / "migrations"

EXIT_OK, EXIT_FAILED, EXIT_REJECTED = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the command line."""
    parser = argparse.ArgumentParser(prog="python -m services.importer")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "import", help="run a full import of the school exports in FOLDER..."
    )
    run.add_argument(
        "--academie",
        required=True,
        type=_academie_code,
        help="académie code the exports belong to, for example 'versailles'",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would change without writing or publishing anything",
    )
    run.add_argument(
        "folders",
        metavar="FOLDER",
        nargs="+",
        type=Path,
        help="a school folder named by its UAI, or a folder of school folders",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = ImporterSettings()
    except ValidationError as exc:
        print(f"error: invalid IMPORTER_* settings: {exc}", file=sys.stderr)
        return EXIT_FAILED

    configure_logging("importer", settings.log_level)
    correlation_id_var.set(new_correlation_id())
    return asyncio.run(
        run_import(
            settings,
            academie=args.academie,
            folders=args.folders,
            dry_run=args.dry_run,
        )
    )


async def run_import(
    settings: ImporterSettings,
    *,
    academie: str,
    folders: Sequence[Path],
    dry_run: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    """Import the school exports of ``folders``, print the summary to ``out``
    and return the exit code."""
    logger.info("import_started", academie=academie, dry_run=dry_run)
    try:
        await apply_migrations(
            settings.database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS
        )
        run = validate_schools(find_school_folders(folders))

        pool = await create_pool(settings.database_url, SCHEMA, min_size=1, max_size=2)
        try:
            async with pool.acquire() as connection:
                changes = await import_schools(
                    connection, run, academie=academie, dry_run=dry_run
                )
            _print_summary(changes, dry_run=dry_run, out=out)
            if not dry_run:
                await _publish_outbox(pool, settings)
        finally:
            await pool.close()
    except ImporterError as exc:
        logger.error("import_rejected", academie=academie, error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECTED
    except Exception as exc:
        logger.exception("import_failed", academie=academie)
        print(f"error: import failed: {exc!r}", file=sys.stderr)
        return EXIT_FAILED

    logger.info("import_finished", academie=academie, schools=len(changes))
    return EXIT_OK


async def _publish_outbox(pool: asyncpg.Pool, settings: ImporterSettings) -> None:
    # Events that earlier runs could not publish go out too: they stayed in
    # the outbox.
    relay = OutboxRelay(pool, settings.kafka_bootstrap_servers, schema=SCHEMA)
    await relay.start()
    try:
        published = await relay.drain()
    finally:
        await relay.stop()
    logger.info("outbox_drained", published=published)


def _print_summary(changes: list[ScopeChanges], *, dry_run: bool, out: TextIO) -> None:
    totals = [0] * 6
    for scope_changes in changes:
        counts = _counts(scope_changes)
        totals = [total + count for total, count in zip(totals, counts, strict=True)]
        scope = scope_changes.scope
        print(f"{scope.source} {scope.uai}: {_format_counts(counts)}", file=out)
    prefix = "dry run, nothing written or published: " if dry_run else ""
    print(f"{prefix}total {len(changes)} schools: {_format_counts(totals)}", file=out)


def _counts(changes: ScopeChanges) -> list[int]:
    return [
        len(changes.eleves_added),
        len(changes.eleves_changed),
        len(changes.eleves_removed),
        len(changes.responsables_added),
        len(changes.responsables_changed),
        len(changes.responsables_removed),
    ]


def _format_counts(counts: Sequence[int]) -> str:
    eleves, responsables = counts[:3], counts[3:]
    return "eleves added {} changed {} removed {}, ".format(
        *eleves
    ) + "responsables added {} changed {} removed {}".format(*responsables)


def _academie_code(value: str) -> str:
    code = value.strip().lower()
    if not code or not code.replace("-", "").isalnum():
        raise argparse.ArgumentTypeError(
            f"invalid académie code {value!r}: expected letters, digits and "
            "hyphens, for example 'versailles'"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
