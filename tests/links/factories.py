"""Import events and decisions for the links tests, with fictitious values."""

import json
from datetime import date

import asyncpg

from services.links import handlers
from services.links.domain import BirthDateThrottle, Decision, link_id_for
from shared.contracts.events import EleveImported, EleveLink, ResponsableImported

ELEVE_ID = "9900000001W"
BIRTH_DATE = date(2013, 3, 14)
WRONG_DATE = date(2013, 3, 15)


def eleve(
    *responsable_ids: str,
    source="siecle",
    uai="0999101E",
    eleve_id=ELEVE_ID,
    prenom="Awa",
) -> EleveImported:
    return EleveImported(
        academie="versailles",
        eleve_id=eleve_id,
        ine=eleve_id,
        source=source,
        source_eleve_id="4300001" if source == "siecle" else None,
        uai=uai,
        classe="5A" if source == "siecle" else "CM2",
        nom="N'DIAYE",
        prenom=prenom,
        date_naissance=BIRTH_DATE,
        responsables=tuple(EleveLink(responsable_id=rid) for rid in responsable_ids),
    )


def responsable(
    responsable_id: str,
    *,
    nom="N'DIAYE",
    prenom="Mariama",
    email: str | None = "m.ndiaye@example.org",
    telephone_portable: str | None = None,
) -> ResponsableImported:
    return ResponsableImported(
        academie="versailles",
        responsable_id=responsable_id,
        source=responsable_id.split(":", 1)[0],
        civilite="MME",
        nom=nom,
        prenom=prenom,
        email=email,
        telephone_portable=telephone_portable,
    )


def confirm(responsable_id: str, eleve_id=ELEVE_ID, date_naissance=BIRTH_DATE):
    return Decision(link_id_for(eleve_id, responsable_id), "confirm", date_naissance)


def refuse(responsable_id: str, eleve_id=ELEVE_ID):
    return Decision(link_id_for(eleve_id, responsable_id), "refuse")


async def apply(pool: asyncpg.Pool, use_case, event) -> None:
    async with pool.acquire() as connection, connection.transaction():
        await use_case(connection, event)


async def import_eleve(pool: asyncpg.Pool, event: EleveImported) -> None:
    await apply(pool, handlers.apply_eleve_imported, event)


async def import_responsable(pool: asyncpg.Pool, event: ResponsableImported) -> None:
    await apply(pool, handlers.apply_responsable_imported, event)


async def decide(
    pool: asyncpg.Pool,
    responsable_id: str,
    *decisions: Decision,
    screen="activation",
    dry_run=False,
    throttle: BirthDateThrottle = handlers.DEFAULT_THROTTLE,
    confirmed_elsewhere: int = 0,
):
    async with pool.acquire() as connection, connection.transaction():
        return await handlers.decide(
            connection,
            responsable_id=responsable_id,
            decisions=list(decisions),
            screen=screen,
            dry_run=dry_run,
            throttle=throttle,
            confirmed_elsewhere=confirmed_elsewhere,
        )


async def states(pool: asyncpg.Pool) -> dict[str, str]:
    """Return the state of every link, by responsable id."""
    rows = await pool.fetch("SELECT responsable_id, state::text FROM links")
    return {row["responsable_id"]: row["state"] for row in rows}


async def outbox_types(pool: asyncpg.Pool) -> list[str]:
    return [
        row["type"]
        for row in await pool.fetch(
            "SELECT type FROM outbox_events ORDER BY id, position"
        )
    ]


async def outbox_payloads(pool: asyncpg.Pool, event_type: str) -> list[dict]:
    rows = await pool.fetch(
        "SELECT payload::text FROM outbox_events WHERE type = $1 ORDER BY id, position",
        event_type,
    )
    return [json.loads(row["payload"]) for row in rows]
