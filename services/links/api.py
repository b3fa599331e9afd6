"""Internal HTTP API for the identity service: a responsable's links and the
decisions taken on them. Not exposed outside the cluster; every call presents
the shared bearer token."""

import hmac
import math
import uuid
from datetime import date
from typing import Annotated, Literal

import asyncpg
from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    status,
)
from pydantic import BaseModel, Field

from services.links import handlers, repository
from services.links.domain import Decision, ErrorCode
from services.links.errors import LinkNotFound
from shared.contracts.events import Screen


class LinkedEleveView(BaseModel):
    """A pupil as the responsable's screens show it. No birth date: it is the
    secret the responsable proves they know."""

    eleve_id: str
    nom: str
    nom_usage: str | None
    prenom: str
    uai: str
    classe: str


LinkStateName = Literal["proposed", "confirmed", "refused"]


class LinkView(BaseModel):
    """One of the responsable's links."""

    link_id: uuid.UUID
    state: LinkStateName
    source: Literal["onde", "siecle"]
    eleve: LinkedEleveView


class DecisionIn(BaseModel):
    """A decision on one link."""

    link_id: uuid.UUID
    decision: Literal["confirm", "refuse"]
    date_naissance: date | None = None


class DecisionsIn(BaseModel):
    """Decisions taken together on one screen."""

    screen: Screen
    decisions: list[DecisionIn] = Field(min_length=1)
    dry_run: bool = Field(
        default=False, description="Check every decision without applying any."
    )


class DecisionErrorOut(BaseModel):
    """Reason one decision was not applied."""

    link_id: uuid.UUID
    code: ErrorCode = Field(
        description="'birth_date_missing' or 'birth_date_mismatch': confirming "
        "needs the pupil's birth date. 'too_many_attempts': too many wrong "
        "birth dates lately, retry after retry_after_seconds. "
        "'last_confirmed_link': on mon_compte a responsable cannot refuse "
        "their last confirmed link."
    )
    retry_after_seconds: int | None = Field(
        default=None,
        description="With 'too_many_attempts', seconds before a birth date "
        "is checked again.",
    )


class DecisionsOut(BaseModel):
    """Result of a decision request: applied when ``errors`` is empty."""

    applied: bool
    changed: int
    errors: list[DecisionErrorOut]


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def _check_token(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    expected = f"Bearer {request.app.state.settings.internal_token}"
    # Bytes, because compare_digest rejects str with non-ASCII characters.
    if authorization is None or not hmac.compare_digest(
        authorization.encode(), expected.encode()
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid token")


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
# Responsable ids as the importer builds them: 'siecle:7100001',
# 'onde:0999201N:<digest>'. Anything else cannot exist, so it is rejected
# before it reaches the database.
ResponsableId = Annotated[
    str, Path(max_length=100, pattern=r"^[a-z]+:[A-Za-z0-9:_-]+$")
]

router = APIRouter(
    prefix="/internal",
    dependencies=[Depends(_check_token)],
)


@router.get("/responsables/{responsable_id}/links", response_model=list[LinkView])
async def list_links(
    responsable_id: ResponsableId,
    pool: Pool,
    state: Annotated[
        list[LinkStateName] | None,
        Query(description="Only links in these states; repeat for several."),
    ] = None,
) -> list[LinkView]:
    """Return the responsable's links to enrolled pupils, in every state or
    only in those of ``state``."""
    async with pool.acquire() as connection:
        rows = await repository.links_of_responsable(connection, responsable_id, state)
    return [
        LinkView(
            link_id=row["link_id"],
            state=row["state"],
            source=row["source"],
            eleve=LinkedEleveView(
                eleve_id=row["eleve_id"],
                nom=row["nom"],
                nom_usage=row["nom_usage"],
                prenom=row["prenom"],
                uai=row["uai"],
                classe=row["classe"],
            ),
        )
        for row in rows
    ]


@router.post("/responsables/{responsable_id}/decisions", response_model=DecisionsOut)
async def post_decisions(
    responsable_id: ResponsableId, body: DecisionsIn, pool: Pool, request: Request
) -> DecisionsOut:
    """Check and apply the responsable's decisions, all or none. Emits
    ``link.confirmed``, ``link.refused`` and ``link.refusal_withdrawn``
    through the outbox. Returns 404 when a link is not the responsable's, and
    200 with ``applied: false`` and the errors when a decision is rejected:
    birth date missing or wrong, too many wrong birth dates lately, or the
    last confirmed link refused on ``mon_compte``."""
    settings = request.app.state.settings
    decisions = [
        Decision(item.link_id, item.decision, item.date_naissance)
        for item in body.decisions
    ]
    try:
        async with pool.acquire() as connection, connection.transaction():
            outcome = await handlers.decide(
                connection,
                responsable_id=responsable_id,
                decisions=decisions,
                screen=body.screen,
                dry_run=body.dry_run,
                throttle=settings.birth_date_throttle(),
            )
    except LinkNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "link not found") from exc

    return DecisionsOut(
        applied=not outcome.errors and not body.dry_run,
        changed=outcome.changed,
        errors=[
            DecisionErrorOut(
                link_id=error.link_id,
                code=error.code,
                retry_after_seconds=math.ceil(error.retry_after.total_seconds())
                if error.retry_after is not None
                else None,
            )
            for error in outcome.errors
        ],
    )
