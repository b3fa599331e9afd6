"""Notices of accounts not yet activated: identifiant and provisional password,
as a school prints them for each responsable and each pupil."""

from dataclasses import dataclass

import asyncpg

from services.identity.passwords import provisional_password


@dataclass(frozen=True)
class Notice:
    """Notice contents: what a responsable needs to log in the first time."""

    identifiant: str
    provisional_password: str
    civilite: str
    nom: str
    prenom: str
    responsable_id: str


async def pending_notices(
    pool: asyncpg.Pool,
    notice_secret: str,
    *,
    limit: int,
    responsable_id: str | None = None,
) -> list[Notice]:
    """Return the notices of accounts not yet activated, oldest first, or the
    one of ``responsable_id``."""
    rows = await pool.fetch(
        """
        SELECT account_id, notice_version, identifiant, civilite, nom, prenom,
               responsable_id
        FROM accounts
        WHERE activated_at IS NULL AND kind = 'responsable'
          AND ($2::text IS NULL OR responsable_id = $2)
        ORDER BY created_at, identifiant
        LIMIT $1
        """,
        limit,
        responsable_id,
    )
    return [
        Notice(
            identifiant=row["identifiant"],
            provisional_password=provisional_password(
                notice_secret, row["account_id"], row["notice_version"]
            ),
            civilite=row["civilite"],
            nom=row["nom"],
            prenom=row["prenom"],
            responsable_id=row["responsable_id"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class PupilNotice:
    """Notice contents for a pupil: its login and the class it is given in."""

    identifiant: str
    provisional_password: str
    nom: str
    prenom: str
    eleve_id: str
    uai: str
    classe: str


async def pending_pupil_notices(
    pool: asyncpg.Pool,
    notice_secret: str,
    *,
    limit: int,
    eleve_id: str | None = None,
) -> list[PupilNotice]:
    """Return the notices of pupil accounts not yet activated whose school
    still enrols them, by school, class and name, or the one of ``eleve_id``."""
    rows = await pool.fetch(
        """
        SELECT accounts.account_id, notice_version, identifiant, nom, prenom,
               eleve_id, uai, classe
        FROM accounts JOIN eleve_schools USING (account_id)
        WHERE activated_at IS NULL AND kind = 'eleve'
          AND eleve_schools.removed_at IS NULL
          AND ($2::text IS NULL OR eleve_id = $2)
        ORDER BY uai, classe, nom, prenom, identifiant
        LIMIT $1
        """,
        limit,
        eleve_id,
    )
    return [
        PupilNotice(
            identifiant=row["identifiant"],
            provisional_password=provisional_password(
                notice_secret, row["account_id"], row["notice_version"]
            ),
            nom=row["nom"],
            prenom=row["prenom"],
            eleve_id=row["eleve_id"],
            uai=row["uai"],
            classe=row["classe"],
        )
        for row in rows
    ]
