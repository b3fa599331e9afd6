"""Pupil accounts (kind 'eleve'), provisioned from the importer's pupils: one
account per pupil, with the school the last import gives for it.

A pupil that the source no longer enrols keeps its account, so that the
password it chose still works if it comes back. Its school is marked as
removed, and its portal then shows no school and no téléservice.
"""

import uuid
from dataclasses import dataclass

import asyncpg

from services.identity.accounts import free_identifiant, identifiant_base
from shared.contracts.events import EleveImported, EleveRemoved


@dataclass(frozen=True)
class School:
    """The school a pupil is enrolled in: its UAI, the class and the source
    (onde for the first degree, siecle for the second)."""

    source: str
    uai: str
    classe: str
    removed: bool


def display_nom(event: EleveImported) -> str:
    """Return the family name a pupil goes by: the usage name when the source
    gives one, as the parents' screens show it."""
    return event.nom_usage or event.nom


async def provision_pupil_account(
    connection: asyncpg.Connection, event: EleveImported
) -> bool:
    """Create the account of a pupil the first time it is imported, or refresh
    its name and school. Returns True when created. A pupil whose school was
    marked removed is enrolled again."""
    account_id = await connection.fetchval(
        """
        UPDATE accounts SET nom = $2, prenom = $3, academie = $4, updated_at = now()
        WHERE eleve_id = $1 AND kind = 'eleve'
        RETURNING account_id
        """,
        event.eleve_id,
        display_nom(event),
        event.prenom,
        event.academie,
    )
    created = account_id is None
    if created:
        account_id = uuid.uuid4()
        base = identifiant_base(event.prenom, display_nom(event))
        # Pupils have no civilité in the exports; the column is for
        # responsables' notices and stays empty here.
        await connection.execute(
            """
            INSERT INTO accounts (account_id, identifiant, kind, eleve_id, academie,
                                  civilite, nom, prenom)
            VALUES ($1, $2, 'eleve', $3, $4, '', $5, $6)
            """,
            account_id,
            await free_identifiant(connection, base),
            event.eleve_id,
            event.academie,
            display_nom(event),
            event.prenom,
        )

    await connection.execute(
        """
        INSERT INTO eleve_schools (account_id, source, uai, classe)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (account_id) DO UPDATE
            SET source = excluded.source, uai = excluded.uai,
                classe = excluded.classe, removed_at = NULL, updated_at = now()
        """,
        account_id,
        event.source,
        str(event.uai),
        event.classe,
    )
    return created


async def mark_pupil_removed(
    connection: asyncpg.Connection, event: EleveRemoved
) -> bool:
    """Mark the pupil's school as removed, if the account's school is still the
    one the event names. A pupil that has since moved to another school (a
    CM2 pupil imported into a collège from SIECLE, for example) keeps the new
    one. Returns True when a school was marked."""
    marked = await connection.fetchval(
        """
        UPDATE eleve_schools SET removed_at = now(), updated_at = now()
        FROM accounts
        WHERE accounts.account_id = eleve_schools.account_id
          AND accounts.eleve_id = $1 AND accounts.kind = 'eleve'
          AND eleve_schools.source = $2 AND eleve_schools.uai = $3
          AND eleve_schools.removed_at IS NULL
        RETURNING true
        """,
        event.eleve_id,
        event.source,
        str(event.uai),
    )
    return bool(marked)


async def school_of(
    connection: asyncpg.Connection, account_id: uuid.UUID
) -> School | None:
    """Return the school of a pupil account, or None when it has none."""
    row = await connection.fetchrow(
        "SELECT source, uai, classe, removed_at FROM eleve_schools"
        " WHERE account_id = $1",
        account_id,
    )
    if row is None:
        return None
    return School(
        source=row["source"],
        uai=row["uai"],
        classe=row["classe"],
        removed=row["removed_at"] is not None,
    )


async def activate_pupil_account(
    connection: asyncpg.Connection, account_id: uuid.UUID, password_hash: str
) -> bool:
    """Record the password a pupil chose at activation. Pupils give no
    e-mail, so one who forgets the password asks the school for a new notice.
    Returns False when the account was already activated.

    NOTE: the school's provisional-password reset covers responsables'
    accounts only. Until it also returns an activated pupil account to a new
    notice (password and activation cleared, notice version raised), a pupil
    who forgets its password cannot log in again.
    """
    activated = await connection.fetchval(
        """
        UPDATE accounts SET password_hash = $2, activated_at = now(),
                            updated_at = now()
        WHERE account_id = $1 AND kind = 'eleve' AND activated_at IS NULL
        RETURNING true
        """,
        account_id,
        password_hash,
    )
    return bool(activated)
