"""Run the notifier: ``python -m services.notifier``."""

import asyncio
from pathlib import Path

import uvicorn

from services.notifier.app import SCHEMA, create_app
from services.notifier.settings import Settings
from shared.db import SHARED_MIGRATIONS, apply_migrations
from shared.logging import configure_logging

MIGRATIONS = Path(__file__).parent / "migrations"


def main() -> None:
    """Apply the schema's migrations, then serve until stopped."""
    settings = Settings()
    configure_logging("notifier", settings.log_level)
    asyncio.run(
        apply_migrations(settings.database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS)
    )
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
