"""The case scheduler: queues the reminders, escalations and daily digests
that are due at a given time, once from the ``tick`` command or periodically
in the service.

Dates are Paris dates, as the deadlines in the mails are. A deadline passes
when its day starts in Paris, because the mails ask for a correction *before*
that day. A case whose deadline passed gets its escalation and no reminder.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.notifier.case_mails import (
    compose_digest,
    compose_escalation,
    compose_reminder,
)
from services.notifier.cases import Case, CaseBook
from services.notifier.clock import Clock, system_clock
from services.notifier.directory import Directory
from services.notifier.mail import OutgoingMail
from services.notifier.rendering import paris_time
from shared.logging import get_logger

logger = get_logger(__name__)


@dataclass(frozen=True)
class TickReport:
    """How many mails of each kind one run queued."""

    reminders: int = 0
    escalations: int = 0
    digests: int = 0

    @property
    def total(self) -> int:
        return self.reminders + self.escalations + self.digests


class CaseScheduler:
    """Queues the due mails of the open cases, on demand or every
    ``interval_seconds`` in a background task."""

    def __init__(
        self,
        cases: CaseBook,
        directory: Directory,
        *,
        reminder_days: int = 5,
        digest_hour: int = 7,
        interval_seconds: float = 300.0,
        clock: Clock = system_clock,
        on_mail_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._cases = cases
        self._directory = directory
        self._reminder_days = reminder_days
        self._digest_hour = digest_hour
        self._interval_seconds = interval_seconds
        self._clock = clock
        self._on_mail_queued = on_mail_queued
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: datetime | None = None) -> TickReport:
        """Queue every escalation, reminder and digest due at ``now`` (the
        clock's time by default) that is not queued yet."""
        now = now or self._clock()
        today = paris_time(now).date()
        open_cases = await self._cases.open_cases()

        reminders = escalations = 0
        for case in open_cases:
            if case.deadline <= today:
                if case.escalated_at is not None:
                    continue
                mail = compose_escalation(case, directory=self._directory)
                if await self._cases.mark_escalated(case, at=now, mail=mail):
                    escalations += 1
                    _log_queued("case_escalated", mail, case_id=case.id)
            elif case.reminded_at is None and today >= case.deadline - timedelta(
                days=self._reminder_days
            ):
                mail = compose_reminder(case, today=today, directory=self._directory)
                if await self._cases.mark_reminded(case, at=now, mail=mail):
                    reminders += 1
                    _log_queued("case_reminded", mail, case_id=case.id)

        digests = 0
        if paris_time(now).hour >= self._digest_hour:
            by_academie: dict[str, list[Case]] = defaultdict(list)
            # Read again, so the digest shows the reminders just queued.
            for case in await self._cases.open_cases():
                by_academie[case.academie].append(case)
            for academie, cases in sorted(by_academie.items()):
                mail = compose_digest(
                    academie, cases, day=today, directory=self._directory
                )
                if await self._cases.record_digest(
                    academie=academie, day=today, mail=mail
                ):
                    digests += 1
                    _log_queued("digest_queued", mail, cases=len(cases))

        report = TickReport(reminders, escalations, digests)
        if report.total:
            self._on_mail_queued()
        return report

    def start(self) -> None:
        """Run every ``interval_seconds`` in the background, starting now."""
        self._task = asyncio.create_task(self._run(), name="notifier-scheduler")

    async def stop(self) -> None:
        """Stop the background runs, letting the one in progress finish."""
        self._stopped.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                await self.run_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning(
                    "case_schedule_unavailable",
                    error=repr(exc),
                    remedy="retrying at the next run; check the database",
                )
            except Exception:
                # The loop must outlive a bug, or no reminder would go out again.
                logger.exception("case_schedule_failed")
            try:
                await asyncio.wait_for(self._stopped.wait(), self._interval_seconds)
            except TimeoutError:
                pass


def _log_queued(event: str, mail: OutgoingMail, **fields: object) -> None:
    if mail.parked_reason is None:
        logger.info(event, academie=mail.academie, **fields)
        return
    logger.error(
        event,
        academie=mail.academie,
        parked_reason=mail.parked_reason,
        remedy="add the académie to the directory, then resend the parked mail",
        **fields,
    )
