"""Creating staff accounts over a real PostgreSQL: the scope each role needs,
the identifiant numbering shared with responsables, and nothing stored when
a value is invalid."""

from pathlib import Path

import pytest

from services.identity.admin_scope import (
    StaffInputError,
    create_staff_account,
    staff_scope,
)
from shared.db import SHARED_MIGRATIONS, apply_migrations, create_pool

pytestmark = pytest.mark.integration

MIGRATIONS = Path(__file__).parents[2] / "services" / "identity" / "migrations"
NAMES = {"academie": "versailles", "civilite": "MME", "nom": "Dupont", "prenom": "Anne"}


@pytest.fixture
async def pool(fresh_database_url):
    await apply_migrations(
        fresh_database_url, "identity", SHARED_MIGRATIONS, MIGRATIONS
    )
    pool = await create_pool(fresh_database_url, "identity")
    yield pool
    await pool.close()


async def test_directeur_and_ien_get_their_scope(pool):
    async with pool.acquire() as connection:
        directeur = await create_staff_account(
            connection, role="directeur", uai="0999101E", **NAMES
        )
        ien = await create_staff_account(
            connection, role="ien", circonscription="0999-NORD", **NAMES
        )
        directeur_scope = await staff_scope(connection, directeur["account_id"])
        ien_scope = await staff_scope(connection, ien["account_id"])

    assert (directeur["identifiant"], ien["identifiant"]) == ("a.dupont1", "a.dupont2")
    assert directeur["kind"] == ien["kind"] == "personnel"
    assert directeur["activated_at"] is None
    assert directeur_scope.uais == ("0999101E",)
    assert ien_scope.uais == ("0999201N", "0999101E")


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        ({"role": "directeur"}, "a directeur needs --uai"),
        ({"role": "directeur", "uai": "999101E"}, "got '999101E'"),
        (
            {"role": "directeur", "uai": "0999101E", "circonscription": "0999-NORD"},
            "no --circonscription",
        ),
        ({"role": "ien", "circonscription": "0999-OUEST"}, "got '0999-OUEST'"),
        (
            {"role": "ien", "circonscription": "0999-NORD", "uai": "0999101E"},
            "no --uai",
        ),
        ({"role": "recteur", "uai": "0999101E"}, "role 'recteur'"),
    ],
)
async def test_invalid_scope_stores_nothing(pool, scope, reason):
    async with pool.acquire() as connection:
        with pytest.raises(StaffInputError, match=reason):
            await create_staff_account(connection, **scope, **NAMES)
        accounts = await connection.fetchval("SELECT count(*) FROM accounts")

    assert accounts == 0


async def test_blank_name_stores_nothing(pool):
    async with pool.acquire() as connection:
        with pytest.raises(StaffInputError, match="--nom, --prenom"):
            await create_staff_account(
                connection, role="directeur", uai="0999101E", **{**NAMES, "nom": " "}
            )
        accounts = await connection.fetchval("SELECT count(*) FROM accounts")

    assert accounts == 0
