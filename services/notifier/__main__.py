"""Run the notifier, or one of its operator commands.

    python -m services.notifier                      serve (the default)
    python -m services.notifier tick [--now ISO]     queue due case mails once
    python -m services.notifier parked list          list parked mails
    python -m services.notifier parked resend ID...  requeue parked mails
    python -m services.notifier parked resend --all
    python -m services.notifier dead-letters list    list dead letters
    python -m services.notifier dead-letters replay ID... | --all

Every command applies the schema's migrations first and reads the same
``NOTIFIER_*`` settings as the service.
"""

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from services.notifier.app import SCHEMA, create_app
from services.notifier.cases import PostgresCaseBook
from services.notifier.directory import load_directory
from services.notifier.parked import (
    CommandResult,
    list_dead_letters,
    list_parked,
    replay_dead_letters,
    resend_parked,
)
from services.notifier.scheduler import CaseScheduler
from services.notifier.settings import Settings
from shared.collector import tune_garbage_collector
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.logging import configure_logging
from shared.observability import load_settings_or_exit

MIGRATIONS = Path(__file__).parent / "migrations"


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, apply the migrations and run the command."""
    arguments = _parser().parse_args(argv)
    settings = load_settings_or_exit(Settings)
    configure_logging("notifier", settings.log_level)
    asyncio.run(
        apply_migrations(settings.database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS)
    )
    if arguments.command is None:
        tune_garbage_collector()
        uvicorn.run(
            create_app(settings),
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=30,
        )
        return 0
    return asyncio.run(_run_command(arguments, settings))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.notifier",
        description="Serve the notifier, or run one of its operator commands.",
    )
    commands = parser.add_subparsers(dest="command")

    tick = commands.add_parser(
        "tick", help="queue the reminders, escalations and digests due now, once"
    )
    tick.add_argument(
        "--now",
        type=_timestamp,
        help="run as if it were this time (ISO 8601, UTC when no offset is given)",
    )

    parked = commands.add_parser("parked", help="list or resend parked mails")
    parked_commands = parked.add_subparsers(dest="action", required=True)
    parked_commands.add_parser("list", help="list parked mails, oldest first")
    resend = parked_commands.add_parser(
        "resend", help="queue parked mails again for an immediate attempt"
    )
    which = resend.add_mutually_exclusive_group(required=True)
    which.add_argument("mail_ids", nargs="*", type=int, default=[], metavar="ID")
    which.add_argument("--all", action="store_true", help="every parked mail")

    dead_letters = commands.add_parser(
        "dead-letters", help="list or replay dead letters"
    )
    dead_letters_commands = dead_letters.add_subparsers(dest="action", required=True)
    dead_letters_commands.add_parser("list", help="list dead letters, oldest first")
    replay = dead_letters_commands.add_parser(
        "replay", help="handle dead letters again once their cause is fixed"
    )
    which_letters = replay.add_mutually_exclusive_group(required=True)
    which_letters.add_argument(
        "letter_ids", nargs="*", type=int, default=[], metavar="ID"
    )
    which_letters.add_argument(
        "--all", action="store_true", help="every dead letter not yet replayed"
    )
    return parser


def _timestamp(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"invalid time {value!r}: expected ISO 8601, "
            "for example 2020-02-14T08:00:00+01:00"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _run_command(arguments: argparse.Namespace, settings: Settings) -> int:
    pool = await create_pool(settings.database_url, SCHEMA)
    try:
        if arguments.command == "tick":
            scheduler = CaseScheduler(
                PostgresCaseBook(pool),
                load_directory(settings.directory_path),
                reminder_days=settings.reminder_days,
                digest_hour=settings.digest_hour,
            )
            report = await scheduler.run_once(arguments.now)
            print(
                f"queued {report.reminders} reminder(s), {report.escalations} "
                f"escalation(s), {report.digests} digest(s)"
            )
            return 0

        if arguments.command == "dead-letters" and arguments.action == "list":
            for letter in await list_dead_letters(pool):
                replayed = "replayed" if letter.replayed_at else "waiting"
                print(
                    f"{letter.id}\t{letter.received_at:%Y-%m-%d %H:%M}\t"
                    f"{letter.topic}[{letter.partition}]@{letter.offset}\t"
                    f"{replayed}\t{letter.reason}"
                )
            return 0

        if arguments.command == "dead-letters":
            results = await replay_dead_letters(
                pool,
                None if arguments.all else arguments.letter_ids,
                directory=load_directory(settings.directory_path),
                correction_days=settings.correction_days,
                sms_gateway_domain=settings.sms_gateway_domain,
            )
            return _report(results, done="replayed")

        if arguments.action == "list":
            for mail in await list_parked(pool):
                print(
                    f"{mail.id}\t{mail.queued_at:%Y-%m-%d %H:%M}\t{mail.kind}\t"
                    f"{mail.academie}\t{','.join(mail.to) or '-'}\t"
                    f"attempts={mail.attempts}\t{mail.reason}"
                )
            return 0

        results = await resend_parked(
            pool,
            None if arguments.all else arguments.mail_ids,
            directory=load_directory(settings.directory_path),
        )
        return _report(results, done="queued")
    finally:
        await pool.close()


def _report(results: list[CommandResult], *, done: str) -> int:
    """Print one line per result; return 1 if any failed, else 0."""
    for result in results:
        if result.error is None:
            print(f"{result.id}\t{done}")
        else:
            print(f"{result.id}\tnot {done}: {result.error}", file=sys.stderr)
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
