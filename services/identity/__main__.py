"""Run the identity service (``python -m services.identity``) or print the
notices of accounts not yet activated (``python -m services.identity notices``,
with ``--eleves`` for pupils' accounts)."""

import argparse
import asyncio
import sys
from pathlib import Path

import uvicorn

from services.identity.admin_scope import (
    add_personnel_command,
    create_and_print_staff_account,
)
from services.identity.app import SCHEMA, create_app
from services.identity.notices import pending_notices, pending_pupil_notices
from services.identity.settings import Settings
from shared.collector import tune_garbage_collector
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool
from shared.logging import configure_logging
from shared.observability import load_settings_or_exit

MIGRATIONS = Path(__file__).parent / "migrations"


async def _print_notices(
    settings: Settings, limit: int, responsable_id: str | None
) -> None:
    pool = await create_pool(settings.database_url, SCHEMA, min_size=1, max_size=1)
    try:
        notices = await pending_notices(
            pool, settings.notice_secret, limit=limit, responsable_id=responsable_id
        )
    finally:
        await pool.close()
    for notice in notices:
        print(
            f"{notice.identifiant:<24} {notice.provisional_password:<12} "
            f"{notice.civilite} {notice.prenom} {notice.nom} ({notice.responsable_id})"
        )


async def _print_pupil_notices(
    settings: Settings, limit: int, eleve_id: str | None
) -> None:
    pool = await create_pool(settings.database_url, SCHEMA, min_size=1, max_size=1)
    try:
        notices = await pending_pupil_notices(
            pool, settings.notice_secret, limit=limit, eleve_id=eleve_id
        )
    finally:
        await pool.close()
    for notice in notices:
        print(
            f"{notice.identifiant:<24} {notice.provisional_password:<12} "
            f"{notice.prenom} {notice.nom}, classe {notice.classe} "
            f"{notice.uai} ({notice.eleve_id})"
        )


def main() -> None:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m services.identity")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the front door (default)")
    notices = commands.add_parser(
        "notices", help="print identifiants and provisional passwords"
    )
    notices.add_argument("--limit", type=int, default=10, help="notices to print")
    notices.add_argument("--responsable", help="only the notice of this responsable id")
    notices.add_argument(
        "--eleves",
        action="store_true",
        help="print pupils' notices instead of responsables'",
    )
    notices.add_argument(
        "--eleve", help="only the notice of this pupil id (implies --eleves)"
    )
    add_personnel_command(commands)
    arguments = parser.parse_args()

    settings = load_settings_or_exit(Settings)
    configure_logging("identity", settings.log_level)
    asyncio.run(
        apply_migrations(settings.database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS)
    )
    if arguments.command == "notices" and (arguments.eleves or arguments.eleve):
        asyncio.run(_print_pupil_notices(settings, arguments.limit, arguments.eleve))
        return
    if arguments.command == "personnel":
        sys.exit(
            asyncio.run(
                create_and_print_staff_account(
                    settings.database_url, SCHEMA, settings.notice_secret, arguments
                )
            )
        )
    if arguments.command == "notices":
        asyncio.run(_print_notices(settings, arguments.limit, arguments.responsable))
        return
    tune_garbage_collector()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
