"""Run the links service: ``python -m services.links`` serves; ``python -m
services.links rollout --activated-responsables FILE`` confirms the links of
accounts activated before links had states."""

import argparse
import asyncio
import sys
from pathlib import Path

import uvicorn

from services.links import handlers
from services.links.app import SCHEMA, create_app
from services.links.settings import Settings
from shared.collector import tune_garbage_collector
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.logging import configure_logging, get_logger
from shared.observability import load_settings_or_exit

MIGRATIONS = Path(__file__).parent / "migrations"

logger = get_logger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Apply the schema's migrations, then serve until stopped or run the
    command given on the command line."""
    parser = argparse.ArgumentParser(prog="python -m services.links")
    commands = parser.add_subparsers(dest="command")
    rollout = commands.add_parser(
        "rollout",
        help="Confirm the proposed links of accounts that were activated before "
        "links had states. Running it again changes nothing.",
    )
    rollout.add_argument(
        "--activated-responsables",
        type=Path,
        required=True,
        metavar="FILE",
        help="Text file with the responsable id of one activated account per "
        "line, as the identity service exports them; blank lines and lines "
        "starting with '#' are skipped.",
    )
    arguments = parser.parse_args(argv)

    responsable_ids: list[str] = []
    if arguments.command == "rollout":
        try:
            responsable_ids = read_responsable_ids(arguments.activated_responsables)
        except (OSError, UnicodeDecodeError) as exc:
            print(
                f"cannot read {str(arguments.activated_responsables)!r}: {exc}",
                file=sys.stderr,
            )
            return 2

    settings = load_settings_or_exit(Settings)
    configure_logging("links", settings.log_level)
    asyncio.run(
        apply_migrations(settings.database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS)
    )
    if arguments.command == "rollout":
        confirmed = asyncio.run(run_rollout(settings, responsable_ids))
        print(f"{confirmed} links confirmed for {len(responsable_ids)} responsables")
        return 0

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


def read_responsable_ids(path: Path) -> list[str]:
    """Return the responsable ids of a file, one per line, without duplicates."""
    lines = path.read_text(encoding="utf-8").splitlines()
    ids = (line.strip() for line in lines)
    return list(dict.fromkeys(i for i in ids if i and not i.startswith("#")))


async def run_rollout(settings: Settings, responsable_ids: list[str]) -> int:
    """Confirm the proposed links of each responsable, one transaction per
    responsable, so that an interrupted run can simply be started again.
    The relay of the running service publishes the events. Returns how many
    links were confirmed."""
    pool = await create_pool(settings.database_url, SCHEMA)
    confirmed = 0
    try:
        for responsable_id in responsable_ids:
            async with pool.acquire() as connection, connection.transaction():
                confirmed += await handlers.confirm_links_of_activated_account(
                    connection, responsable_id
                )
    finally:
        await pool.close()
    logger.info(
        "rollout_finished", responsables=len(responsable_ids), confirmed=confirmed
    )
    return confirmed


if __name__ == "__main__":
    sys.exit(main())
