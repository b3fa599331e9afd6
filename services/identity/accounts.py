"""SQL access to accounts (schema ``identity``)."""

import re
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from shared.contracts.events import ResponsableImported
from shared.names import email_key


def identifiant_base(prenom: str, nom: str) -> str:
    """Return the stem of an identifiant: first letter of the first name, a
    dot, and the family name in unaccented lower-case letters
    (« Aïssatou N'DIAYE » gives ``a.ndiaye``)."""

    def letters(value: str) -> str:
        plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z]", "", plain.lower())

    return f"{letters(prenom)[:1] or 'x'}.{letters(nom)[:20] or 'x'}"


async def lock_identifiant_bases(
    connection: asyncpg.Connection, bases: Sequence[str]
) -> None:
    """Take, until the transaction ends, the lock that ``free_identifiant``
    takes for each stem of ``bases``, in the order of the locks' keys.

    A transaction that provisions many accounts would otherwise take its
    stems' locks in the order of its events. Two such transactions with
    common names then each wait for a stem the other holds, and PostgreSQL
    aborts one of them. Taken in one order, the second waits for the first.

    NOTE: in a first import most batches share common names, so identity
    replicas mostly wait for each other; their throughput is not measured.
    """
    keys = await connection.fetch(
        "SELECT DISTINCT hashtext(base) AS key FROM unnest($1::text[]) AS base"
        " ORDER BY key",
        list(bases),
    )
    await connection.executemany(
        "SELECT pg_advisory_xact_lock($1::bigint)", [(row["key"],) for row in keys]
    )


async def free_identifiant(connection: asyncpg.Connection, base: str) -> str:
    """Return the stem ``base`` followed by its lowest free number. The stem
    stays locked until the transaction ends, so the caller must insert the
    account in the same transaction."""
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
    return f"{base}{number}"


async def void_reset_links(
    connection: asyncpg.Connection, account_id: uuid.UUID
) -> None:
    """Delete the account's password reset links not used yet."""
    await connection.execute(
        "DELETE FROM password_resets WHERE account_id = $1", account_id
    )


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

    identifiant = await free_identifiant(
        connection, identifiant_base(event.prenom, event.nom)
    )
    account_id = uuid.uuid4()
    await connection.execute(
        """
        INSERT INTO accounts (account_id, identifiant, responsable_id, academie,
                              civilite, nom, prenom, source_email, source_mobile)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        account_id,
        identifiant,
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


# An account with the responsable records it holds, oldest first, and what
# the school knows of each (``held_records``, JSON texts read by
# ``services.identity.reasons``).
_ACCOUNT_SELECT = """
    SELECT accounts.*,
           ARRAY(SELECT held.responsable_id FROM account_responsables held
                 WHERE held.account_id = accounts.account_id
                 ORDER BY held.added_at, held.responsable_id) AS responsable_ids,
           ARRAY(SELECT json_build_object(
                            'responsable_id', record.responsable_id,
                            'nom', record.nom, 'prenom', record.prenom,
                            'email', record.source_email,
                            'mobile', record.source_mobile)::text
                 FROM account_responsables held
                 JOIN accounts record ON record.responsable_id = held.responsable_id
                 WHERE held.account_id = accounts.account_id) AS held_records
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


def display_name(account: asyncpg.Record) -> str:
    """Return the name that mails greet the account holder with."""
    return f"{account['prenom']} {account['nom']}"


async def find_by_login(
    connection: asyncpg.Connection, login: str
) -> asyncpg.Record | None:
    """Return the account that logs in with ``login``: its identifiant, or the
    e-mail address of an activated account, both compared case-insensitively."""
    if "@" not in login:
        return await find_by_identifiant(connection, login)
    return await connection.fetchrow(
        _ACCOUNT_SELECT + "WHERE email = $1 AND activated_at IS NOT NULL",
        email_key(login),
    )


async def email_taken(
    connection: asyncpg.Connection, email: str, account_id: uuid.UUID
) -> bool:
    """Tell whether an account other than ``account_id`` has ``email``,
    compared case-insensitively."""
    return await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1 AND account_id <> $2)",
        email_key(email),
        account_id,
    )


async def lock_login(
    connection: asyncpg.Connection, login: str, until: datetime
) -> None:
    """Lock the account that logs in with ``login`` until ``until``, or
    longer if already locked longer. An unknown login changes nothing."""
    await connection.execute(
        """
        UPDATE accounts SET locked_until = greatest(locked_until, $3)
        WHERE identifiant = lower($1)
           OR (email = $2 AND activated_at IS NOT NULL)
        """,
        login.strip(),
        email_key(login),
        until,
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
) -> bool:
    """Record the e-mail, in lower case, and the password chosen at
    activation. Returns False when the account was already activated. Raises
    ``asyncpg.UniqueViolationError`` when another account has the e-mail."""
    activated = await connection.fetchval(
        """
        UPDATE accounts SET email = $2, password_hash = $3, activated_at = now(),
                            updated_at = now()
        WHERE account_id = $1 AND activated_at IS NULL
        RETURNING true
        """,
        account_id,
        email_key(email),
        password_hash,
    )
    return bool(activated)


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


async def reset_password(
    connection: asyncpg.Connection, account_id: uuid.UUID, password_hash: str
) -> None:
    """Store the password chosen through a reset link and unlock the account."""
    await connection.execute(
        "UPDATE accounts SET password_hash = $2, locked_until = NULL,"
        " updated_at = now() WHERE account_id = $1 AND activated_at IS NOT NULL",
        account_id,
        password_hash,
    )


async def change_email(
    connection: asyncpg.Connection, account_id: uuid.UUID, email: str
) -> None:
    """Store the account's new e-mail address, in lower case. Raises
    ``asyncpg.UniqueViolationError`` when another account has it."""
    await connection.execute(
        "UPDATE accounts SET email = $2, updated_at = now() WHERE account_id = $1",
        account_id,
        email_key(email),
    )
