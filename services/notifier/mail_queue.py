"""The mail queue: the port the consumer and the sender use, and its
PostgreSQL adapter over the ``mail_queue`` table.

A mail is claimed by locking its row (``FOR UPDATE SKIP LOCKED``) for the
whole SMTP exchange, so two sender replicas never send the same mail at once
and a sender that dies mid-send leaves the row queued. Delivery is at least
once: a sender that dies after the relay accepted the mail but before the
commit sends it again on restart, with the same Message-ID.
"""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

import asyncpg

from services.notifier.mail import OutgoingMail
from shared.inbox import first_delivery
from shared.logging import correlation_id_var


@dataclass(frozen=True)
class QueuedMail:
    """A mail of the queue, with its delivery record so far."""

    id: int
    mail: OutgoingMail
    attempts: int
    queued_at: datetime
    correlation_id: str | None = None
    """Correlation id of the event that caused the mail, for the sender's logs."""


class ClaimedMail(Protocol):
    """A queued mail locked for this sender until the claim ends. The sender
    calls exactly one of the ``mark_*`` methods per claim."""

    queued: QueuedMail

    async def mark_sent(self, *, refused_recipients: str | None = None) -> None:
        """Record the mail as delivered; ``refused_recipients`` lists the
        addresses the relay rejected while accepting the others."""

    async def mark_for_retry(self, *, error: str, delay_seconds: float) -> None:
        """Count a failed attempt and keep the mail queued for a later one."""

    async def mark_parked(self, *, reason: str) -> None:
        """Stop automatic delivery of the mail until an operator steps in."""


class MailQueue(Protocol):
    """Storage of the mails to send."""

    async def add_once(
        self, *, consumer: str, event_id: UUID, mail: OutgoingMail | None
    ) -> bool:
        """Record that ``consumer`` processed ``event_id`` and store ``mail``
        (if any) with the current correlation id, in the same transaction.
        Returns False, storing nothing, when the event was already recorded."""

    def claim_next(self) -> AbstractAsyncContextManager[ClaimedMail | None]:
        """Claim the queued mail due first, or yield None when none is due."""


_INSERT = """
INSERT INTO mail_queue (
    message_id, kind, event_id, academie, to_addresses, cc_addresses,
    subject, body_text, body_html, status, parked_reason, correlation_id
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (message_id) DO NOTHING
"""

_CLAIM = """
SELECT id, message_id, kind, event_id, academie, to_addresses, cc_addresses,
       subject, body_text, body_html, attempts, queued_at, correlation_id
FROM mail_queue
WHERE status = 'queued' AND next_attempt_at <= now()
ORDER BY next_attempt_at, id
LIMIT 1
FOR UPDATE SKIP LOCKED
"""


async def insert_mail(connection: asyncpg.Connection, mail: OutgoingMail) -> bool:
    """Store ``mail`` in the caller's transaction, queued or, when it has a
    ``parked_reason``, parked, with the current correlation id. Returns False,
    storing nothing, when a mail with its Message-ID exists already."""
    status = await connection.execute(
        _INSERT,
        mail.message_id,
        mail.kind,
        mail.event_id,
        mail.academie,
        list(mail.to),
        list(mail.cc),
        mail.subject,
        mail.text,
        mail.html,
        "queued" if mail.parked_reason is None else "parked",
        mail.parked_reason,
        correlation_id_var.get(),
    )
    return status == "INSERT 0 1"


class PostgresMailQueue:
    """The mail queue in the notifier's schema."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add_once(
        self, *, consumer: str, event_id: UUID, mail: OutgoingMail | None
    ) -> bool:
        async with self._pool.acquire() as connection, connection.transaction():
            if not await first_delivery(
                connection, consumer=consumer, event_id=event_id
            ):
                return False
            if mail is not None:
                await insert_mail(connection, mail)
        return True

    @asynccontextmanager
    async def claim_next(self) -> AsyncIterator["_PostgresClaim | None"]:
        async with self._pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(_CLAIM)
            yield None if row is None else _PostgresClaim(connection, row)


class _PostgresClaim:
    def __init__(self, connection: asyncpg.Connection, row: asyncpg.Record) -> None:
        self._connection = connection
        self.queued = QueuedMail(
            id=row["id"],
            mail=OutgoingMail(
                message_id=row["message_id"],
                kind=row["kind"],
                event_id=row["event_id"],
                academie=row["academie"],
                to=tuple(row["to_addresses"]),
                cc=tuple(row["cc_addresses"]),
                subject=row["subject"],
                text=row["body_text"],
                html=row["body_html"],
            ),
            attempts=row["attempts"],
            queued_at=row["queued_at"],
            correlation_id=row["correlation_id"],
        )

    async def mark_sent(self, *, refused_recipients: str | None = None) -> None:
        await self._connection.execute(
            "UPDATE mail_queue SET status = 'sent', sent_at = now(),"
            " attempts = attempts + 1, last_error = $2 WHERE id = $1",
            self.queued.id,
            refused_recipients,
        )

    async def mark_for_retry(self, *, error: str, delay_seconds: float) -> None:
        await self._connection.execute(
            "UPDATE mail_queue SET attempts = attempts + 1, last_error = $2,"
            " next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
            self.queued.id,
            error,
            delay_seconds,
        )

    async def mark_parked(self, *, reason: str) -> None:
        await self._connection.execute(
            "UPDATE mail_queue SET status = 'parked', attempts = attempts + 1,"
            " last_error = $2, parked_reason = $2 WHERE id = $1",
            self.queued.id,
            reason,
        )
