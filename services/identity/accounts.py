"""SQL access to accounts (schema ``identity``)."""

import re
import unicodedata
import uuid

import asyncpg

from shared.contracts.events import ResponsableImported


def identifiant_base(prenom: str, nom: str) -> str:
    """Return the stem of an identifiant: first letter of the first name, a
    dot, and the family name in unaccented lower-case letters
    (« Aïssatou N'DIAYE » gives ``a.ndiaye``)."""

    def letters(value: str) -> str:
        plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z]", "", plain.lower())

    return f"{letters(prenom)[:1] or 'x'}.{letters(nom)[:20] or 'x'}"


async def provision_account(
    connection: asyncpg.Connection, event: ResponsableImported
) -> bool:
    """Create the account of a responsable record the first time it is
    imported, or refresh its name and school e-mail. Returns True when created.
    The identifiant is the stem followed by the lowest free number."""
    updated = await connection.fetchval(
        """
        UPDATE accounts SET civilite = $2, nom = $3, prenom = $4,
                            source_email = $5, academie = $6, source_mobile = $7,
                            updated_at = now()
        WHERE responsable_id = $1
        RETURNING true
        """,
        event.responsable_id,
        event.civilite,
        event.nom,
        event.prenom,
        event.email,
        event.academie,
        event.telephone_portable,
    )
    if updated:
        return False

    base = identifiant_base(event.prenom, event.nom)
    # Serialises the allocation of numbers for one stem across consumers.
    await connection.execute("SELECT pg_advisory_xact_lock(hashtext($1))", base)
    taken = {
        row["identifiant"]
        for row in await connection.fetch(
            "SELECT identifiant FROM accounts WHERE identifiant LIKE $1 || '%'", base
        )
    }
    number = 1
    while f"{base}{number}" in taken:
        number += 1

    account_id = uuid.uuid4()
    await connection.execute(
        """
        INSERT INTO accounts (account_id, identifiant, responsable_id, academie,
                              civilite, nom, prenom, source_email, source_mobile)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        account_id,
        f"{base}{number}",
        event.responsable_id,
        event.academie,
        event.civilite,
        event.nom,
        event.prenom,
        event.email,
        event.telephone_portable,
    )
    await connection.execute(
        "INSERT INTO account_responsables (responsable_id, account_id) VALUES ($1, $2)",
        event.responsable_id,
        account_id,
    )
    return True


# An account with the responsable records it holds, oldest first.
_ACCOUNT_SELECT = """
    SELECT accounts.*,
           ARRAY(SELECT held.responsable_id FROM account_responsables held
                 WHERE held.account_id = accounts.account_id
                 ORDER BY held.added_at, held.responsable_id) AS responsable_ids
    FROM accounts
"""


async def find_by_identifiant(
    connection: asyncpg.Connection, identifiant: str
) -> asyncpg.Record | None:
    """Return the account with this identifiant, compared case-insensitively,
    with the ``responsable_ids`` it holds."""
    return await connection.fetchrow(
        _ACCOUNT_SELECT + "WHERE identifiant = lower($1)", identifiant.strip()
    )


async def get_account(
    connection: asyncpg.Connection, account_id: uuid.UUID
) -> asyncpg.Record | None:
    """Return the account with this id, with the ``responsable_ids`` it holds."""
    return await connection.fetchrow(
        _ACCOUNT_SELECT + "WHERE account_id = $1", account_id
    )


async def activate(
    connection: asyncpg.Connection,
    account_id: uuid.UUID,
    *,
    email: str,
    password_hash: str,
) -> None:
    """Record the e-mail and password chosen at activation."""
    await connection.execute(
        """
        UPDATE accounts SET email = $2, password_hash = $3, activated_at = now(),
                            updated_at = now()
        WHERE account_id = $1 AND activated_at IS NULL
        """,
        account_id,
        email,
        password_hash,
    )


async def replace_password_hash(
    connection: asyncpg.Connection, account_id: uuid.UUID, password_hash: str
) -> None:
    """Store a new hash of the same password (stronger parameters)."""
    await connection.execute(
        "UPDATE accounts SET password_hash = $2, updated_at = now()"
        " WHERE account_id = $1",
        account_id,
        password_hash,
    )
