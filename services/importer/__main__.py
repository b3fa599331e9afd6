"""Command line of the importer.

    python -m services.importer import --academie CODE [--delta] [--dry-run] FOLDER...
    python -m services.importer confirm IMPORT_ID
    python -m services.importer report [IMPORT_ID | --last] [--limit N | --all]
    python -m services.importer scan [--root DIR] [--academie CODE]
    python -m services.importer watch [--root DIR] [--interval SECONDS]
    python -m services.importer schedule [--root DIR] [--interval SECONDS]

``import`` applies the schema migrations, reads and validates every school
export found in the folders, imports them in one transaction, prints one line
per school and a total, then publishes the outbox to Kafka. Every run leaves a
report that ``report`` prints. ``scan`` imports the drops waiting in the 1D
and 2D depots below ``--root`` (see ``depots``), ``watch`` scans again and
again, and ``schedule`` imports each académie's full drops on its day of the
weekly plan and deltas any day.

Exit codes: 0 on success, 1 on a failure, 2 when a file or folder is
rejected, and 3 when a full import is held because it would remove too much.
Nothing of a rejected or held run is applied; ``confirm`` applies a held run.
"""

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from services.importer import scheduler
from services.importer.plan import PlanInvalid, load_plan
from services.importer.runs import (
    EXIT_FAILED,
    EXIT_HELD,
    EXIT_OK,
    EXIT_REJECTED,
    confirm_import,
    print_report,
    run_import,
)
from services.importer.settings import ImporterSettings
from shared.collector import tune_garbage_collector
from shared.logging import configure_logging, correlation_id_var, new_correlation_id

__all__ = [
    "EXIT_FAILED",
    "EXIT_HELD",
    "EXIT_OK",
    "EXIT_REJECTED",
    "confirm_import",
    "main",
    "print_report",
    "run_import",
]


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the command line."""
    parser = argparse.ArgumentParser(prog="python -m services.importer")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "import", help="import the school exports in FOLDER... (full by default)"
    )
    run.add_argument(
        "--academie",
        required=True,
        type=academie_code,
        help="académie code the exports belong to, for example 'versailles'",
    )
    run.add_argument(
        "--delta",
        action="store_true",
        help="the exports are deltas: apply what they contain, remove nothing",
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

    confirm = commands.add_parser(
        "confirm", help="apply a held import, whatever share it removes"
    )
    confirm.add_argument("import_id", metavar="IMPORT_ID", type=int)

    report = commands.add_parser("report", help="print the report of an import")
    which = report.add_mutually_exclusive_group()
    which.add_argument("import_id", metavar="IMPORT_ID", type=int, nargs="?")
    which.add_argument("--last", action="store_true", help="the last import (default)")
    size = report.add_mutually_exclusive_group()
    size.add_argument(
        "--limit",
        type=int,
        default=50,
        help="lines printed per entity and action (default 50)",
    )
    size.add_argument("--all", action="store_true", help="print every line")

    for name, help_text in (
        ("scan", "import the drops waiting in the depots, then stop"),
        ("watch", "scan the depots again and again until interrupted"),
        ("schedule", "import full drops on their académie's day, deltas any day"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--root",
            type=Path,
            help="folder containing educonnect1d/ and educonnect2d/ "
            "(default: IMPORTER_DEPOT_ROOT)",
        )
        if name == "scan":
            command.add_argument(
                "--academie",
                type=academie_code,
                help="import only the drops of this académie (by hand)",
            )
        else:
            command.add_argument(
                "--interval",
                type=float,
                default=60.0,
                help="seconds between two scans (default 60)",
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
    tune_garbage_collector()
    correlation_id_var.set(new_correlation_id())
    progress = sys.stderr if sys.stderr.isatty() else None
    if args.command == "import":
        return asyncio.run(
            run_import(
                settings,
                academie=args.academie,
                folders=args.folders,
                dry_run=args.dry_run,
                kind="delta" if args.delta else "full",
                progress=progress,
            )
        )
    if args.command == "confirm":
        return asyncio.run(confirm_import(settings, args.import_id, progress=progress))
    if args.command in ("scan", "watch", "schedule"):
        return _run_depots(args, settings)
    return asyncio.run(
        print_report(
            settings, args.import_id, line_limit=None if args.all else args.limit
        )
    )


def _run_depots(args: argparse.Namespace, settings: ImporterSettings) -> int:
    root = args.root or settings.depot_root
    if root is None:
        print("error: give --root DIR or set IMPORTER_DEPOT_ROOT", file=sys.stderr)
        return EXIT_FAILED
    try:
        plan = load_plan(settings.plan)
    except PlanInvalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.command == "scan":
        return asyncio.run(scheduler.scan(settings, root, plan, academie=args.academie))
    try:
        asyncio.run(
            scheduler.watch(
                settings,
                root,
                plan,
                interval=args.interval,
                by_plan=args.command == "schedule",
            )
        )
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def academie_code(value: str) -> str:
    """Return an académie code in lower case; raises ``ArgumentTypeError``."""
    code = value.strip().lower()
    if not code or not code.replace("-", "").isalnum():
        raise argparse.ArgumentTypeError(
            f"invalid académie code {value!r}: expected letters, digits and "
            "hyphens, for example 'versailles'"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
