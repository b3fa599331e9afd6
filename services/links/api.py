"""Internal HTTP API for the identity service: a responsable's links and the
decisions taken on them, and a school's pupils, links and statistics for its
staff's screens. Not exposed outside the cluster; every call presents the
shared bearer token."""

import hmac
import math
import uuid
from datetime import date, datetime
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
    account_confirmed_elsewhere: int = Field(
        default=0,
        ge=0,
        description="Confirmed links the identity account keeps on its other "
        "responsable records; on mon_compte they count towards the link that "
        "must remain.",
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
                confirmed_elsewhere=body.account_confirmed_elsewhere,
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


# UAI codes: seven digits and a letter ('0999101E').
Uai = Annotated[str, Path(pattern=r"^[0-9]{7}[A-Z]$")]


class SchoolResponsableView(BaseModel):
    """The responsable record at the other end of a link, as a school's staff
    see it: no contact details."""

    civilite: str
    nom: str
    prenom: str


class SchoolLinkView(BaseModel):
    """A link of one of the school's pupils, for the school's staff."""

    link_id: uuid.UUID
    responsable_id: str
    state: LinkStateName
    decided_at: datetime | None = Field(
        description="When the responsable confirmed or refused the link; for a "
        "refused link, the date of the refusal."
    )
    responsable: SchoolResponsableView | None = Field(
        description="None while no import has brought the responsable record."
    )


class SchoolPupilView(BaseModel):
    """A pupil enrolled in the school, with their links. No birth date."""

    eleve_id: str
    source: Literal["onde", "siecle"]
    nom: str
    nom_usage: str | None
    prenom: str
    classe: str = Field(description="SIECLE division code or ONDE class label.")
    links: list[SchoolLinkView]


class SchoolView(BaseModel):
    """A school's classes and enrolled pupils with their links."""

    uai: str
    classes: list[str]
    pupils: list[SchoolPupilView]


class SchoolStatisticsView(BaseModel):
    """Counts of one school's links, and the responsable records they reach."""

    uai: str
    pupils: int
    proposed: int
    confirmed: int
    refused: int
    overdue_refusals: int = Field(
        description="Refused links still in the source whose refusal is older "
        "than overdue_after_days."
    )
    responsable_ids: list[str] = Field(
        description="Every responsable record linked to a pupil of the school."
    )


@router.get("/schools/{uai}", response_model=SchoolView)
async def school(
    uai: Uai,
    pool: Pool,
    classe: Annotated[
        str | None,
        Query(max_length=100, description="Only the pupils of this class."),
    ] = None,
) -> SchoolView:
    """Return the school's classes and its enrolled pupils (of one class when
    ``classe`` is given) with each pupil's links and their states. A school
    without enrolled pupils gives empty lists."""
    async with pool.acquire() as connection:
        classes = await connection.fetch(
            "SELECT DISTINCT classe FROM eleves WHERE uai = $1 AND enrolled"
            " ORDER BY classe",
            uai,
        )
        rows = await connection.fetch(
            """
            SELECT e.eleve_id, e.source AS eleve_source, e.nom, e.nom_usage,
                   e.prenom, e.classe, l.link_id, l.responsable_id,
                   l.state::text AS state, l.decided_at,
                   r.civilite, r.nom AS responsable_nom,
                   r.prenom AS responsable_prenom
            FROM eleves e
            LEFT JOIN links l USING (eleve_id)
            LEFT JOIN responsables r ON r.responsable_id = l.responsable_id
            WHERE e.uai = $1 AND e.enrolled AND ($2::text IS NULL OR e.classe = $2)
            ORDER BY e.classe, e.nom, e.prenom, e.eleve_id, r.nom, r.prenom,
                     l.responsable_id
            """,
            uai,
            classe,
        )
    pupils: dict[str, SchoolPupilView] = {}
    for row in rows:
        pupil = pupils.get(row["eleve_id"])
        if pupil is None:
            pupil = pupils[row["eleve_id"]] = SchoolPupilView(
                eleve_id=row["eleve_id"],
                source=row["eleve_source"],
                nom=row["nom"],
                nom_usage=row["nom_usage"],
                prenom=row["prenom"],
                classe=row["classe"],
                links=[],
            )
        if row["link_id"] is None:
            continue
        pupil.links.append(
            SchoolLinkView(
                link_id=row["link_id"],
                responsable_id=row["responsable_id"],
                state=row["state"],
                decided_at=row["decided_at"],
                responsable=SchoolResponsableView(
                    civilite=row["civilite"],
                    nom=row["responsable_nom"],
                    prenom=row["responsable_prenom"],
                )
                if row["civilite"] is not None
                else None,
            )
        )
    return SchoolView(
        uai=uai,
        classes=[row["classe"] for row in classes],
        pupils=list(pupils.values()),
    )


@router.get("/school-statistics", response_model=list[SchoolStatisticsView])
async def school_statistics(
    pool: Pool,
    uai: Annotated[
        list[Annotated[str, Field(pattern=r"^[0-9]{7}[A-Z]$")]],
        Query(min_length=1, max_length=500, description="Repeat for each school."),
    ],
    overdue_after_days: Annotated[
        int,
        Query(ge=1, le=3650, description="Days after which a refusal is overdue."),
    ] = 30,
) -> list[SchoolStatisticsView]:
    """Return, for each school asked, in the order asked, the number of
    enrolled pupils and of their links by state, the refusals older than
    ``overdue_after_days`` that the source still has, and the responsable
    records linked to its pupils. A school without pupils gives zeros."""
    async with pool.acquire() as connection:
        rows = await connection.fetch(
            """
            SELECT e.uai,
                   count(DISTINCT e.eleve_id) AS pupils,
                   count(l.link_id) FILTER (WHERE l.state = 'proposed') AS proposed,
                   count(l.link_id) FILTER (WHERE l.state = 'confirmed')
                       AS confirmed,
                   count(l.link_id) FILTER (WHERE l.state = 'refused') AS refused,
                   count(l.link_id) FILTER (
                       WHERE l.state = 'refused'
                         AND l.decided_at < now() - make_interval(days => $2)
                   ) AS overdue_refusals,
                   coalesce(
                       array_agg(DISTINCT l.responsable_id)
                           FILTER (WHERE l.responsable_id IS NOT NULL),
                       '{}'
                   ) AS responsable_ids
            FROM eleves e LEFT JOIN links l USING (eleve_id)
            WHERE e.uai = ANY($1::text[]) AND e.enrolled
            GROUP BY e.uai
            """,
            uai,
            overdue_after_days,
        )
    by_uai = {row["uai"]: row for row in rows}
    statistics = []
    for code in dict.fromkeys(uai):
        row = by_uai.get(code)
        statistics.append(
            SchoolStatisticsView(
                uai=code,
                pupils=row["pupils"] if row else 0,
                proposed=row["proposed"] if row else 0,
                confirmed=row["confirmed"] if row else 0,
                refused=row["refused"] if row else 0,
                overdue_refusals=row["overdue_refusals"] if row else 0,
                responsable_ids=sorted(row["responsable_ids"]) if row else [],
            )
        )
    return statistics
