"""A links schema migrated in a fresh database, for each test."""

from pathlib import Path

import pytest

from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool

MIGRATIONS = Path(__file__).parents[3] / "services" / "links" / "migrations"


@pytest.fixture
async def pool(fresh_database_url):
    await apply_migrations(fresh_database_url, "links", SHARED_MIGRATIONS, MIGRATIONS)
    pool = await create_pool(fresh_database_url, "links")
    yield pool
    await pool.close()
