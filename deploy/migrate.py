"""Apply the database migrations of every service, then exit.

    python deploy/migrate.py

Reads MIGRATE_DATABASE_URL, the URL of a role allowed to create the services'
schemas. Each service also applies its own migrations when it starts; running
this first lets an upgrade fail on a bad migration before any new replica
starts. Concurrent runs are safe: ``shared.db.apply_migrations`` takes an
advisory lock per schema. Exit codes: 0 when every schema is up to date, 2
when the variable is missing or invalid, 1 when a migration fails.
"""

import asyncio
import os
import sys
from pathlib import Path

import services
from shared.db import SHARED_MIGRATIONS, apply_migrations
from shared.logging import configure_logging, get_logger

logger = get_logger("deploy.migrate")

# Each service owns the schema of its own name and keeps its migrations in
# services/<name>/migrations, next to its code.
SERVICES = ("importer", "links", "identity", "notifier")
SERVICES_ROOT = Path(services.__file__).parent
SCHEMAS = tuple((name, SERVICES_ROOT / name / "migrations") for name in SERVICES)


async def migrate_all(database_url: str) -> None:
    """Apply the pending migrations of each schema, one schema after another."""
    for schema, folder in SCHEMAS:
        if not folder.is_dir():
            raise FileNotFoundError(
                f"migrations folder of schema {schema!r} not found: {folder}"
            )
        applied = await apply_migrations(
            database_url, schema, SHARED_MIGRATIONS, folder
        )
        logger.info("schema_migrated", schema=schema, applied=len(applied))


def main() -> int:
    """Run the migrations and return the exit code."""
    database_url = os.environ.get("MIGRATE_DATABASE_URL", "")
    if not database_url.startswith(("postgresql://", "postgres://")):
        print(
            "error: MIGRATE_DATABASE_URL is missing or invalid: expected "
            "postgresql://user:password@host:port/database",
            file=sys.stderr,
        )
        return 2

    configure_logging("migrate", os.environ.get("MIGRATE_LOG_LEVEL", "INFO"))
    try:
        asyncio.run(migrate_all(database_url))
    except Exception:
        logger.exception("migration_failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
