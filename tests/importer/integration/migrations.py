"""The importer's schema as an earlier release left it, for upgrade tests."""

import shutil
from pathlib import Path

import asyncpg

from shared.db import SHARED_MIGRATIONS, apply_migrations

MIGRATIONS = (
    Path(__file__).resolve().parents[3] / "services" / "importer" / "migrations"
)


async def connect_at_release(
    database_url: str, folder: Path, pattern: str
) -> asyncpg.Connection:
    """Apply the importer's migrations whose names match ``pattern`` (those
    of the earlier release), copied into ``folder``, and return a connection
    to the schema."""
    _copy_migrations(folder, pattern)
    await apply_migrations(database_url, "importer", SHARED_MIGRATIONS, folder)
    return await asyncpg.connect(
        database_url, server_settings={"search_path": "importer"}
    )


def _copy_migrations(folder: Path, pattern: str) -> None:
    folder.mkdir()
    for path in MIGRATIONS.glob(pattern):
        shutil.copy(path, folder)


async def upgrade(database_url: str) -> list[str]:
    """Apply the importer's migrations of this release; return those applied."""
    return await apply_migrations(
        database_url, "importer", SHARED_MIGRATIONS, MIGRATIONS
    )
