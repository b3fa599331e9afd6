"""Run the identity service (``python -m services.identity``) or print the
notices of accounts not yet activated (``python -m services.identity notices``)."""

import argparse
import asyncio
from pathlib import Path

import uvicorn

from services.identity.app import SCHEMA, create_app
from services.identity.notices import pending_notices
from services.identity.settings import Settings
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
    arguments = parser.parse_args()

    settings = load_settings_or_exit(Settings)
    configure_logging("identity", settings.log_level)
    asyncio.run(
        apply_migrations(settings.database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS)
    )
    if arguments.command == "notices":
        asyncio.run(_print_notices(settings, arguments.limit, arguments.responsable))
        return
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
