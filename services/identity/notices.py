"""Notices of accounts not yet activated: identifiant and provisional password,
as a school prints them for each responsable."""

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
        SELECT account_id, identifiant, civilite, nom, prenom, responsable_id
        FROM accounts
        WHERE activated_at IS NULL AND ($2::text IS NULL OR responsable_id = $2)
        ORDER BY created_at, identifiant
        LIMIT $1
        """,
        limit,
        responsable_id,
    )
    return [
        Notice(
            identifiant=row["identifiant"],
            provisional_password=provisional_password(notice_secret, row["account_id"]),
            civilite=row["civilite"],
            nom=row["nom"],
            prenom=row["prenom"],
            responsable_id=row["responsable_id"],
        )
        for row in rows
    ]
