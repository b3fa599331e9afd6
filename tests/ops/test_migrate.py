"""deploy/migrate.py, the one-shot migration of every schema that the compose
file and the Kubernetes Job run before the services."""

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {"importer", "links", "identity", "notifier"}


def run_migrate(**variables: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MIGRATE_")
    }
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "deploy" / "migrate.py")],
        cwd=REPO_ROOT,
        env=env | variables,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def applied_migrations(database_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(database_url)
    try:
        counts = {}
        for schema in SCHEMAS:
            counts[schema] = await connection.fetchval(
                f'SELECT count(*) FROM "{schema}".schema_migrations'
            )
        return counts
    finally:
        await connection.close()


@pytest.mark.integration
async def test_migrate_creates_every_schema_once(fresh_database_url) -> None:
    first = run_migrate(MIGRATE_DATABASE_URL=fresh_database_url)
    counts_after_first = await applied_migrations(fresh_database_url)
    second = run_migrate(MIGRATE_DATABASE_URL=fresh_database_url)
    counts_after_second = await applied_migrations(fresh_database_url)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert all(count > 0 for count in counts_after_first.values())
    assert counts_after_second == counts_after_first
    assert '"event": "schema_migrated"' in first.stderr


def test_migrate_rejects_missing_database_url() -> None:
    completed = run_migrate()

    assert completed.returncode == 2
    assert "MIGRATE_DATABASE_URL is missing or invalid" in completed.stderr
