"""The sender loop: sends the queued mails that are due, one at a time, and
decides after each failure between a later retry and parking the mail."""

import asyncio

import asyncpg
import structlog

from services.notifier.clock import Clock, system_clock
from services.notifier.errors import PermanentDeliveryError, TemporaryDeliveryError
from services.notifier.mail import build_email_message
from services.notifier.mail_queue import ClaimedMail, MailQueue
from services.notifier.smtp import MailTransport
from shared.logging import correlation_id_var, get_logger
from shared.observability import count_mail_parked, count_mail_sent

logger = get_logger(__name__)


def retry_delay(attempts: int, *, initial_seconds: float, max_seconds: float) -> float:
    """Return the delay before the next attempt of a mail that has failed
    ``attempts`` times: ``initial_seconds`` doubled at each failure, capped at
    ``max_seconds``."""
    exponent = min(max(attempts - 1, 0), 32)
    return min(initial_seconds * 2**exponent, max_seconds)


class MailSender:
    """Sends due mails from a ``MailQueue`` through a ``MailTransport`` in a
    background task, until stopped."""

    def __init__(
        self,
        queue: MailQueue,
        transport: MailTransport,
        *,
        sender: str,
        poll_interval_seconds: float = 1.0,
        retry_initial_delay_seconds: float = 10.0,
        retry_max_delay_seconds: float = 3600.0,
        retry_max_age_seconds: float = 5 * 86400.0,
        delay_alert_after_seconds: float = 4 * 3600.0,
        clock: Clock = system_clock,
    ) -> None:
        self._queue = queue
        self._transport = transport
        self._sender = sender
        self._poll_interval_seconds = poll_interval_seconds
        self._retry_initial_delay_seconds = retry_initial_delay_seconds
        self._retry_max_delay_seconds = retry_max_delay_seconds
        self._retry_max_age_seconds = retry_max_age_seconds
        self._delay_alert_after_seconds = delay_alert_after_seconds
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start sending in the background."""
        self._task = asyncio.create_task(self._run(), name="notifier-sender")

    def wake(self) -> None:
        """Look for due mails now rather than at the next poll."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Finish the send in flight, if any, then stop the loop."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task

    async def send_due(self) -> int:
        """Attempt every mail due now, once each; returns how many were
        attempted. Mails that fail again become due later, not in this call."""
        attempted = 0
        while not self._stopping and await self._attempt_next():
            attempted += 1
        return attempted

    async def _run(self) -> None:
        while not self._stopping:
            # Cleared before looking, so a wake() during a send is not lost.
            self._wakeup.clear()
            try:
                await self.send_due()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning(
                    "mail_queue_unavailable",
                    error=repr(exc),
                    remedy="retrying at the next poll; check the database",
                )
            except Exception:
                # The loop must outlive a bug, or no mail would be sent again.
                logger.exception("mail_sender_failed")
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_seconds)
            except TimeoutError:
                pass

    async def _attempt_next(self) -> bool:
        async with self._queue.claim_next() as claim:
            if claim is None:
                return False
            correlation_id = claim.queued.correlation_id
            token = correlation_id_var.set(correlation_id)
            try:
                with structlog.contextvars.bound_contextvars(
                    correlation_id=correlation_id
                ):
                    await self._attempt(claim)
            finally:
                correlation_id_var.reset(token)
            return True

    async def _attempt(self, claim: ClaimedMail) -> None:
        queued = claim.queued
        log = logger.bind(
            mail_id=queued.id,
            message_id=queued.mail.message_id,
            kind=queued.mail.kind,
            academie=queued.mail.academie,
            attempt=queued.attempts + 1,
        )
        try:
            message = build_email_message(
                queued.mail, sender=self._sender, date=queued.queued_at
            )
            refused = await self._transport.send(message)
        except TemporaryDeliveryError as exc:
            await self._defer_or_give_up(claim, exc.reason, log)
            return
        except PermanentDeliveryError as exc:
            await claim.mark_parked(reason=exc.reason)
            count_mail_parked()
            log.error(
                "mail_parked",
                reason=exc.reason,
                remedy="fix the address or content, then resend with "
                "'python -m services.notifier parked resend <mail id>'",
            )
            return
        except Exception as exc:
            # Left in place, a mail that fails for an unknown reason would stay
            # first in the queue and block the mails behind it, so it is
            # deferred like a temporary failure.
            log.exception("mail_send_failed")
            await self._defer_or_give_up(claim, repr(exc), log)
            return

        if refused:
            rejected = "; ".join(
                f"{address}: {reply}" for address, reply in refused.items()
            )
            await claim.mark_sent(refused_recipients=rejected)
            count_mail_sent()
            log.warning(
                "mail_sent_partially",
                refused=rejected,
                remedy="check the rejected addresses in the académie directory",
            )
            return
        await claim.mark_sent()
        count_mail_sent()
        log.info("mail_sent")

    async def _defer_or_give_up(
        self, claim: ClaimedMail, error: str, log: structlog.stdlib.BoundLogger
    ) -> None:
        """Keep a mail that failed for a temporary reason queued for a later
        attempt, with a WARNING once it has waited longer than the alert
        threshold. Park it once it has waited longer than the maximum age, as
        a mail server bounces a message it could not deliver for days."""
        age_seconds = (self._clock() - claim.queued.queued_at).total_seconds()
        if age_seconds >= self._retry_max_age_seconds:
            reason = (
                f"not delivered after {claim.queued.attempts + 1} attempts over "
                f"{age_seconds / 3600:.1f} h; last error: {error}"
            )
            await claim.mark_parked(reason=reason)
            count_mail_parked()
            log.error(
                "mail_parked",
                reason=reason,
                remedy="fix the SMTP relay, then resend with "
                "'python -m services.notifier parked resend <mail id>'",
            )
            return

        delay = retry_delay(
            claim.queued.attempts + 1,
            initial_seconds=self._retry_initial_delay_seconds,
            max_seconds=self._retry_max_delay_seconds,
        )
        await claim.mark_for_retry(error=error, delay_seconds=delay)
        if age_seconds >= self._delay_alert_after_seconds:
            # Repeated at each retry. With the default settings the delay has
            # reached its 1 h cap before the 4 h threshold, so this is hourly.
            log.warning(
                "mail_delivery_delayed",
                error=error,
                waiting_hours=round(age_seconds / 3600, 1),
                retry_in_seconds=delay,
                remedy="check the SMTP relay; the mail is parked after "
                f"{self._retry_max_age_seconds / 3600:.0f} h of failures",
            )
        else:
            log.info("mail_send_deferred", error=error, retry_in_seconds=delay)
