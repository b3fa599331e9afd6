"""In-memory fakes of the notifier's ports: the mail queue, the dead letter
store and the SMTP transport."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID

from services.notifier.dead_letters import DeadLetter
from services.notifier.mail import OutgoingMail
from services.notifier.mail_queue import QueuedMail


@dataclass
class FakeRow:
    """A mail of the fake queue and its delivery record."""

    mail: OutgoingMail
    status: str = "queued"
    attempts: int = 0
    due: bool = True
    last_error: str | None = None
    parked_reason: str | None = None
    retry_delay_seconds: float | None = None


class FakeClaim:
    def __init__(self, row_id: int, row: FakeRow) -> None:
        self._row = row
        self.queued = QueuedMail(
            id=row_id,
            mail=row.mail,
            attempts=row.attempts,
            queued_at=datetime(2020, 1, 15, 10, 0, tzinfo=UTC),
        )

    async def mark_sent(self, *, refused_recipients: str | None = None) -> None:
        self._row.status = "sent"
        self._row.attempts += 1
        self._row.last_error = refused_recipients

    async def mark_for_retry(self, *, error: str, delay_seconds: float) -> None:
        self._row.attempts += 1
        self._row.last_error = error
        self._row.retry_delay_seconds = delay_seconds
        # The fake has no clock, so a deferred mail is due again only after a
        # test calls make_all_due().
        self._row.due = False

    async def mark_parked(self, *, reason: str) -> None:
        self._row.status = "parked"
        self._row.attempts += 1
        self._row.parked_reason = reason


@dataclass
class FakeMailQueue:
    """The queue in lists. ``failures`` and ``claim_failures`` are raised by
    the next ``add_once`` and ``claim_next`` calls, one each, to imitate a
    database outage."""

    rows: list[FakeRow] = field(default_factory=list)
    processed: set[tuple[str, UUID]] = field(default_factory=set)
    failures: list[Exception] = field(default_factory=list)
    claim_failures: list[Exception] = field(default_factory=list)

    async def add_once(
        self, *, consumer: str, event_id: UUID, mail: OutgoingMail | None
    ) -> bool:
        if self.failures:
            raise self.failures.pop(0)
        if (consumer, event_id) in self.processed:
            return False
        self.processed.add((consumer, event_id))
        if mail is not None:
            status = "queued" if mail.parked_reason is None else "parked"
            self.rows.append(
                FakeRow(mail=mail, status=status, parked_reason=mail.parked_reason)
            )
        return True

    @asynccontextmanager
    async def claim_next(self) -> AsyncIterator[FakeClaim | None]:
        if self.claim_failures:
            raise self.claim_failures.pop(0)
        for row_id, row in enumerate(self.rows, start=1):
            if row.status == "queued" and row.due:
                yield FakeClaim(row_id, row)
                return
        yield None

    def make_all_due(self) -> None:
        for row in self.rows:
            row.due = True


@dataclass
class FakeDeadLetterStore:
    letters: list[DeadLetter] = field(default_factory=list)

    async def add(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


@dataclass
class FakeTransport:
    """Records the messages sent; ``outcomes`` are used one per send: an
    exception is raised, a dict is returned as the refused recipients."""

    sent: list[EmailMessage] = field(default_factory=list)
    outcomes: list[Exception | dict[str, str]] = field(default_factory=list)
    release: asyncio.Event | None = None
    """When set, each send waits for this event, to hold a send in flight."""
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, message: EmailMessage) -> dict[str, str]:
        self.started.set()
        if self.release is not None:
            await self.release.wait()
        outcome = self.outcomes.pop(0) if self.outcomes else {}
        if isinstance(outcome, Exception):
            raise outcome
        self.sent.append(message)
        return outcome
