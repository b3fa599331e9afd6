"""The sender loop: sends the queued mails that are due, one at a time, and
decides after each failure between a later retry and parking the mail."""

import asyncio

import asyncpg
import structlog

from services.notifier.errors import PermanentDeliveryError, TemporaryDeliveryError
from services.notifier.mail import build_email_message
from services.notifier.mail_queue import ClaimedMail, MailQueue
from services.notifier.smtp import MailTransport
from shared.logging import correlation_id_var, get_logger

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
    ) -> None:
        self._queue = queue
        self._transport = transport
        self._sender = sender
        self._poll_interval_seconds = poll_interval_seconds
        self._retry_initial_delay_seconds = retry_initial_delay_seconds
        self._retry_max_delay_seconds = retry_max_delay_seconds
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
            delay = await self._defer(claim, exc.reason)
            log.warning(
                "mail_send_deferred",
                error=exc.reason,
                retry_in_seconds=delay,
                remedy="retrying automatically; check the SMTP relay if it lasts",
            )
            return
        except PermanentDeliveryError as exc:
            await claim.mark_parked(reason=exc.reason)
            log.error(
                "mail_parked",
                reason=exc.reason,
                remedy="fix the address or content, then requeue the mail",
            )
            return
        except Exception as exc:
            # Left in place, a mail that fails for an unknown reason would stay
            # first in the queue and block the mails behind it, so it is
            # deferred like a temporary failure.
            delay = await self._defer(claim, repr(exc))
            log.exception("mail_send_failed", retry_in_seconds=delay)
            return

        if refused:
            rejected = "; ".join(
                f"{address}: {reply}" for address, reply in refused.items()
            )
            await claim.mark_sent(refused_recipients=rejected)
            log.warning(
                "mail_sent_partially",
                refused=rejected,
                remedy="check the rejected addresses in the académie directory",
            )
            return
        await claim.mark_sent()
        log.info("mail_sent")

    async def _defer(self, claim: ClaimedMail, error: str) -> float:
        delay = retry_delay(
            claim.queued.attempts + 1,
            initial_seconds=self._retry_initial_delay_seconds,
            max_seconds=self._retry_max_delay_seconds,
        )
        await claim.mark_for_retry(error=error, delay_seconds=delay)
        return delay
