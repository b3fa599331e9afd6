"""In-memory fakes of the notifier's ports: the mail queue, the case book,
the dead letter store and the SMTP transport."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from uuid import UUID

from services.notifier.cases import Case, Closing, ClosingReason
from services.notifier.dead_letters import DeadLetter
from services.notifier.mail import OutgoingMail
from services.notifier.mail_queue import QueuedMail
from shared.contracts import LinkRefused

QUEUED_AT = datetime(2020, 1, 15, 10, 0, tzinfo=UTC)
"""When every mail of the fake queue was queued."""


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
            queued_at=QUEUED_AT,
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


@dataclass
class FakeCaseBook:
    """Cases in a list, storing their mails in ``queue`` and their processed
    events in its ``processed`` set, as the real book shares the tables."""

    queue: FakeMailQueue
    cases: list[Case] = field(default_factory=list)
    closed: dict[int, ClosingReason] = field(default_factory=dict)
    digests: set[tuple[str, date]] = field(default_factory=set)

    async def open(
        self,
        *,
        consumer: str,
        event_id: UUID,
        refusal: LinkRefused,
        deadline: date,
        mail: OutgoingMail,
    ) -> bool:
        if not await self.queue.add_once(
            consumer=consumer, event_id=event_id, mail=mail
        ):
            return False
        if not any(case.refusal.link_id == refusal.link_id for case in self._open()):
            self.cases.append(
                Case(
                    id=len(self.cases) + 1,
                    refusal=refusal,
                    opened_by=event_id,
                    deadline=deadline,
                )
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
        if (consumer, event_id) in self.queue.processed:
            return Closing(recorded=False)
        self.queue.processed.add((consumer, event_id))
        case = next((c for c in self._open() if c.refusal.link_id == link_id), None)
        if case is None:
            return Closing(recorded=True)
        self.closed[case.id] = reason
        self._store(compose_notice(case))
        return Closing(recorded=True, case=case)

    async def open_cases(self) -> list[Case]:
        return sorted(self._open(), key=lambda case: (case.deadline, case.id))

    async def mark_reminded(
        self, case: Case, *, at: datetime, mail: OutgoingMail
    ) -> bool:
        current = self._current(case)
        if current is None or current.reminded_at is not None:
            return False
        self._replace(replace(current, reminded_at=at))
        self._store(mail)
        return True

    async def mark_escalated(
        self, case: Case, *, at: datetime, mail: OutgoingMail
    ) -> bool:
        current = self._current(case)
        if current is None or current.escalated_at is not None:
            return False
        self._replace(replace(current, escalated_at=at))
        self._store(mail)
        return True

    async def record_digest(
        self, *, academie: str, day: date, mail: OutgoingMail
    ) -> bool:
        if (academie, day) in self.digests:
            return False
        self.digests.add((academie, day))
        self._store(mail)
        return True

    def _open(self) -> list[Case]:
        return [case for case in self.cases if case.id not in self.closed]

    def _current(self, case: Case) -> Case | None:
        return next((c for c in self._open() if c.id == case.id), None)

    def _replace(self, case: Case) -> None:
        self.cases[case.id - 1] = case

    def _store(self, mail: OutgoingMail) -> None:
        status = "queued" if mail.parked_reason is None else "parked"
        self.queue.rows.append(
            FakeRow(mail=mail, status=status, parked_reason=mail.parked_reason)
        )
