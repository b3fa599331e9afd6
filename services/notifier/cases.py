"""Correction cases: a refused link stays an open case until the responsable
withdraws the refusal or the link vanishes from the source. The ``CaseBook``
port stores cases together with the mails they cause, in one transaction, and
``PostgresCaseBook`` is its adapter over the ``cases`` and ``digests`` tables.

Every change is conditional (``WHERE reminded_at IS NULL``…) and every mail
has a Message-ID derived from the case, so two replicas running the same
reminders at once queue each mail once.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol
from uuid import UUID

import asyncpg

from services.notifier.mail import OutgoingMail
from services.notifier.mail_queue import insert_mail
from shared.contracts import LinkRefused
from shared.inbox import first_delivery

ClosingReason = Literal["withdrawn", "corrected"]


@dataclass(frozen=True)
class Case:
    """An open correction case and the steps already taken."""

    id: int
    refusal: LinkRefused
    opened_by: UUID
    """Id of the refusal event, from which the case's Message-IDs derive."""
    deadline: date
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None

    @property
    def academie(self) -> str:
        return self.refusal.academie


@dataclass(frozen=True)
class Closing:
    """Result of a closing event: ``recorded`` is False for a redelivered
    event, and ``case`` is the case closed, if one was open."""

    recorded: bool
    case: Case | None = None


class CaseBook(Protocol):
    """Storage of correction cases and of the mails they cause."""

    async def open(
        self,
        *,
        consumer: str,
        event_id: UUID,
        refusal: LinkRefused,
        deadline: date,
        mail: OutgoingMail,
    ) -> bool:
        """Record ``event_id`` as processed, store the refusal ``mail`` and open
        a case for the link unless one is open already, all at once. Returns
        False, storing nothing, when the event was already recorded."""

    async def close(
        self,
        *,
        consumer: str,
        event_id: UUID,
        link_id: UUID,
        reason: ClosingReason,
        closed_at: datetime,
        compose_notice: Callable[[Case], OutgoingMail],
    ) -> Closing:
        """Record ``event_id`` as processed and close the link's open case, if
        any, storing the notice that ``compose_notice`` makes for it."""

    async def open_cases(self) -> list[Case]:
        """Return every open case, by deadline."""

    async def mark_reminded(
        self, case: Case, *, at: datetime, mail: OutgoingMail
    ) -> bool:
        """Store the reminder ``mail`` of a case still open and not reminded;
        returns False, storing nothing, otherwise."""

    async def mark_escalated(
        self, case: Case, *, at: datetime, mail: OutgoingMail
    ) -> bool:
        """Store the escalation ``mail`` of a case still open and not
        escalated; returns False, storing nothing, otherwise."""

    async def record_digest(
        self, *, academie: str, day: date, mail: OutgoingMail
    ) -> bool:
        """Store the digest ``mail`` of ``academie`` for ``day`` unless one was
        stored already; returns whether it was stored."""


_CASE_COLUMNS = "id, refusal, opened_by, deadline, reminded_at, escalated_at"


class PostgresCaseBook:
    """Correction cases in the notifier's schema."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def open(
        self,
        *,
        consumer: str,
        event_id: UUID,
        refusal: LinkRefused,
        deadline: date,
        mail: OutgoingMail,
    ) -> bool:
        async with self._pool.acquire() as connection, connection.transaction():
            if not await first_delivery(
                connection, consumer=consumer, event_id=event_id
            ):
                return False
            await insert_mail(connection, mail)
            await connection.execute(
                "INSERT INTO cases (link_id, academie, source, opened_by, refusal,"
                " refused_at, deadline) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)"
                " ON CONFLICT DO NOTHING",
                refusal.link_id,
                refusal.academie,
                refusal.eleve.source,
                event_id,
                refusal.model_dump_json(),
                refusal.occurred_at,
                deadline,
            )
        return True

    async def close(
        self,
        *,
        consumer: str,
        event_id: UUID,
        link_id: UUID,
        reason: ClosingReason,
        closed_at: datetime,
        compose_notice: Callable[[Case], OutgoingMail],
    ) -> Closing:
        async with self._pool.acquire() as connection, connection.transaction():
            if not await first_delivery(
                connection, consumer=consumer, event_id=event_id
            ):
                return Closing(recorded=False)
            row = await connection.fetchrow(
                "UPDATE cases SET status = 'closed', closed_at = $2, closed_by = $3,"
                " closed_reason = $4 WHERE link_id = $1 AND status = 'open'"
                f" RETURNING {_CASE_COLUMNS}",
                link_id,
                closed_at,
                event_id,
                reason,
            )
            if row is None:
                return Closing(recorded=True)
            # NOTE: a closed case keeps the refusal's personal data, as the
            # sent mails do; no retention period is enforced yet.
            case = _case(row)
            await insert_mail(connection, compose_notice(case))
        return Closing(recorded=True, case=case)

    async def open_cases(self) -> list[Case]:
        rows = await self._pool.fetch(
            f"SELECT {_CASE_COLUMNS} FROM cases WHERE status = 'open'"
            " ORDER BY deadline, id"
        )
        return [_case(row) for row in rows]

    async def mark_reminded(
        self, case: Case, *, at: datetime, mail: OutgoingMail
    ) -> bool:
        return await self._mark(
            "UPDATE cases SET reminded_at = $2 WHERE id = $1 AND status = 'open'"
            " AND reminded_at IS NULL",
            case,
            at,
            mail,
        )

    async def mark_escalated(
        self, case: Case, *, at: datetime, mail: OutgoingMail
    ) -> bool:
        return await self._mark(
            "UPDATE cases SET escalated_at = $2 WHERE id = $1 AND status = 'open'"
            " AND escalated_at IS NULL",
            case,
            at,
            mail,
        )

    async def record_digest(
        self, *, academie: str, day: date, mail: OutgoingMail
    ) -> bool:
        async with self._pool.acquire() as connection, connection.transaction():
            status = await connection.execute(
                "INSERT INTO digests (academie, digest_date) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING",
                academie,
                day,
            )
            if status != "INSERT 0 1":
                return False
            await insert_mail(connection, mail)
        return True

    async def _mark(
        self, update: str, case: Case, at: datetime, mail: OutgoingMail
    ) -> bool:
        async with self._pool.acquire() as connection, connection.transaction():
            if await connection.execute(update, case.id, at) != "UPDATE 1":
                return False
            await insert_mail(connection, mail)
        return True


def _case(row: asyncpg.Record) -> Case:
    refusal = row["refusal"]
    if isinstance(refusal, str):
        refusal = json.loads(refusal)
    return Case(
        id=row["id"],
        refusal=LinkRefused.model_validate(refusal),
        opened_by=row["opened_by"],
        deadline=row["deadline"],
        reminded_at=row["reminded_at"],
        escalated_at=row["escalated_at"],
    )
