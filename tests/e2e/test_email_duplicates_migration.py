"""The migration that makes e-mail addresses unique: addresses already stored
are put in lower case, and of the accounts sharing one, only the oldest
activated keeps it while the others' addresses are recorded aside."""

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from services.identity.__main__ import MIGRATIONS
from services.identity.app import SCHEMA
from shared.db import SHARED_MIGRATIONS, apply_migrations

pytestmark = pytest.mark.integration

EARLIER = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def insert_account(
    connection, email: str | None, activated_at: datetime | None
) -> uuid.UUID:
    account_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO accounts (account_id, identifiant, responsable_id, academie,"
        " civilite, nom, prenom, email, password_hash, activated_at)"
        " VALUES ($1, $2, $3, 'versailles', 'MME', 'DUPONT', 'Marie', $4, $5, $6)",
        account_id,
        f"m.dupont{uuid.uuid4().hex[:8]}",
        f"siecle:{uuid.uuid4().hex[:8]}",
        email,
        "$argon2id$hash" if activated_at else None,
        activated_at,
    )
    return account_id


async def test_duplicates_keep_oldest_activated(fresh_database_url, tmp_path: Path):
    before = tmp_path / "migrations"
    before.mkdir()
    for name in ("001_accounts.sql", "002_login_failures.sql", "003_account_kinds.sql"):
        shutil.copy(MIGRATIONS / name, before / name)
    await apply_migrations(fresh_database_url, SCHEMA, SHARED_MIGRATIONS, before)
    connection = await asyncpg.connect(fresh_database_url)
    await connection.execute(f"SET search_path TO {SCHEMA}")
    try:
        newer = await insert_account(
            connection, "marie.dupont@exemple.fr", EARLIER + timedelta(days=3)
        )
        oldest = await insert_account(connection, " Marie.Dupont@Exemple.fr", EARLIER)
        single = await insert_account(connection, "Paul@Exemple.fr", EARLIER)
        blank = await insert_account(connection, "  ", EARLIER)

        await apply_migrations(
            fresh_database_url, SCHEMA, SHARED_MIGRATIONS, MIGRATIONS
        )

        emails = {
            row["account_id"]: row["email"]
            for row in await connection.fetch("SELECT account_id, email FROM accounts")
        }
        removed = await connection.fetch(
            "SELECT account_id, email, kept_by FROM email_duplicates_removed"
        )
        with pytest.raises(asyncpg.UniqueViolationError):
            await connection.execute(
                "UPDATE accounts SET email = 'paul@exemple.fr' WHERE account_id = $1",
                newer,
            )
    finally:
        await connection.close()

    assert emails[oldest] == "marie.dupont@exemple.fr"
    assert emails[newer] is None
    assert emails[single] == "paul@exemple.fr"
    assert emails[blank] is None
    assert [tuple(row) for row in removed] == [
        (newer, "marie.dupont@exemple.fr", oldest)
    ]
