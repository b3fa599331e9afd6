"""Kafka subscribers of the notifier: the links service's events, which open
and close correction cases with their mails, and the identity service's
account messages, each of which queues one mail.

Each event is handled in one transaction with the record of its id (see
``shared.inbox``), so a redelivered event queues nothing twice. A message of
the links topic carries a batch of events, identified by the batch's id and
their position in it (see ``shared.kafka.batch_event_id``). The
``ConsumerPolicy`` middleware decides what a failure means: a message that
can never be processed goes to the dead letters and is acknowledged, anything
else is delivered again after a pause.
"""

import asyncio
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from faststream.exceptions import HandlerException, NackMessage
from faststream.kafka import KafkaMessage, KafkaRouter
from faststream.middlewares import AckPolicy, BaseMiddleware
from pydantic import ValidationError

from services.notifier.account_messages import (
    ACCOUNT_MESSAGES_TOPIC,
    DEFAULT_SMS_GATEWAY_DOMAIN,
    AccountMessage,
)
from services.notifier.cases import CaseBook
from services.notifier.clock import Clock, system_clock
from services.notifier.dead_letters import DeadLetter, DeadLetterStore
from services.notifier.directory import Directory
from services.notifier.errors import UnreadableMessage
from services.notifier.handlers import (
    LinkMessage,
    Outcome,
    handle_account_message,
    handle_link_event,
)
from services.notifier.mail_queue import MailQueue
from shared.contracts import LinkEvent, Topic
from shared.kafka import CORRELATION_HEADER, batch_event_id, event_id_from_headers
from shared.logging import correlation_id_var, get_logger, new_correlation_id

logger = get_logger(__name__)

# Failures that no redelivery can cure: the payload is not JSON (FastStream
# decodes it inside the handler call), or does not match the contract, or the
# headers lack a usable ce_id.
UNREADABLE = (
    json.JSONDecodeError,
    UnicodeDecodeError,
    ValidationError,
    UnreadableMessage,
)

# Failures caused by an unavailable database or network rather than by the
# message, so the same message succeeds once they are back.
TEMPORARY_FAILURES = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


def build_router(
    *,
    queue: MailQueue,
    cases: CaseBook,
    dead_letters: DeadLetterStore,
    directory: Directory,
    correction_days: int,
    retry_delay_seconds: float,
    group_id: str = "notifier",
    on_mail_queued: Callable[[], None] = lambda: None,
    clock: Clock = system_clock,
    sms_gateway_domain: str = DEFAULT_SMS_GATEWAY_DOMAIN,
) -> KafkaRouter:
    """Build the router of the links and account messages subscribers, for
    inclusion in the service's broker. ``on_mail_queued`` runs after each
    commit that queued a mail to send, so the sender need not wait for its
    next poll. Mobile codes go to the e-mail-to-SMS gateway of
    ``sms_gateway_domain``."""
    router = KafkaRouter(
        middlewares=[ConsumerPolicy(dead_letters, retry_delay_seconds)]
    )
    # Options of every subscriber: read a new topic from its start, and
    # acknowledge a message only once handled (ConsumerPolicy handles failures).
    subscription = {
        "group_id": group_id,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
    }

    async def apply_link_event(event: LinkEvent, event_id: UUID) -> None:
        outcome = await handle_link_event(
            event,
            event_id,
            queue=queue,
            cases=cases,
            directory=directory,
            correction_days=correction_days,
        )

        log = logger.bind(
            event_type=event.type, link_id=str(event.link_id), academie=event.academie
        )
        if outcome is Outcome.PARKED:
            log.error(
                "refusal_mail_parked",
                reason=f"unknown académie {event.academie!r}",
                remedy="add the académie to the directory, then requeue the mail",
            )
        else:
            log.info("link_event_handled", outcome=outcome.value)
        if outcome in (Outcome.QUEUED, Outcome.CLOSED):
            on_mail_queued()

    @router.subscriber(Topic.LINKS, **subscription)
    async def on_link_batch(events: LinkMessage, message: KafkaMessage) -> None:
        """Apply each event of the batch in its order. A ``LinkRefused``
        queues its refusal mail and opens its case. A withdrawn or corrected
        refusal closes its case with a notice. Every other link event is
        recorded as processed, without a mail. A lone event, as the relay of
        an earlier release publishes it, counts as a batch of one."""
        batch_id = _message_id(message)
        for position, event in enumerate(events):
            await apply_link_event(event, batch_event_id(batch_id, position))

    # NOTE: links no longer writes to the topic of one event per message. This
    # subscriber can go once no notifier group has messages left to read there.
    @router.subscriber(Topic.LINKS_V1, **subscription)
    async def on_link_event(event: LinkEvent, message: KafkaMessage) -> None:
        """Apply one link event, as ``on_link_batch`` applies each of its
        events."""
        await apply_link_event(event, _message_id(message))

    @router.subscriber(ACCOUNT_MESSAGES_TOPIC, **subscription)
    async def on_account_message(
        account_message: AccountMessage, message: KafkaMessage
    ) -> None:
        """Queue the mail that the identity service requests."""
        outcome = await handle_account_message(
            account_message,
            _message_id(message),
            queue=queue,
            now=clock(),
            sms_gateway_domain=sms_gateway_domain,
        )

        # The address and the code stay out of the logs.
        log = logger.bind(
            message_type=account_message.type, account_id=account_message.account_id
        )
        if outcome is Outcome.EXPIRED:
            log.warning(
                "account_message_expired",
                remedy="none for this message; if many expire, check the "
                "notifier's consumer lag",
            )
        else:
            log.info("account_message_handled", outcome=outcome.value)
        if outcome is Outcome.QUEUED:
            on_mail_queued()

    return router


def _message_id(message: KafkaMessage) -> UUID:
    """Return the message's ``ce_id``. Raises ``UnreadableMessage`` when it is
    missing or not a UUID."""
    try:
        return event_id_from_headers(message.headers)
    except ValueError as exc:
        raise UnreadableMessage(str(exc)) from exc


class ConsumerPolicy:
    """Middleware factory binding each message's log context and applying the
    failure policy: dead letter for an unreadable message, pause and
    redelivery for any other failure, so nothing is skipped silently."""

    def __init__(
        self, dead_letters: DeadLetterStore, retry_delay_seconds: float
    ) -> None:
        self._dead_letters = dead_letters
        self._retry_delay_seconds = retry_delay_seconds

    def __call__(self, msg: Any, /, *, context: Any) -> "_ConsumerPolicyMiddleware":
        return _ConsumerPolicyMiddleware(
            msg,
            context=context,
            dead_letters=self._dead_letters,
            retry_delay_seconds=self._retry_delay_seconds,
        )


class _ConsumerPolicyMiddleware(BaseMiddleware):
    def __init__(
        self,
        msg: Any,
        /,
        *,
        context: Any,
        dead_letters: DeadLetterStore,
        retry_delay_seconds: float,
    ) -> None:
        super().__init__(msg, context=context)
        self._dead_letters = dead_letters
        self._retry_delay_seconds = retry_delay_seconds

    async def consume_scope(self, call_next: Any, msg: KafkaMessage) -> Any:
        record = msg.raw_message
        correlation_id = msg.headers.get(CORRELATION_HEADER) or new_correlation_id()
        token = correlation_id_var.set(correlation_id)
        try:
            with structlog.contextvars.bound_contextvars(
                correlation_id=correlation_id,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                message_id=msg.headers.get("ce_id"),
            ):
                return await self._apply_policy(call_next, msg)
        finally:
            correlation_id_var.reset(token)

    async def _apply_policy(self, call_next: Any, msg: KafkaMessage) -> Any:
        try:
            try:
                return await call_next(msg)
            except UNREADABLE as exc:
                # Acknowledged once stored: redelivery would fail the same way
                # and block every later message of the partition.
                await self._dead_letters.add(_dead_letter(msg, exc))
                logger.error(
                    "message_dead_lettered", **_log_fields(exc, msg.raw_message.topic)
                )
                return None
        except HandlerException:
            raise
        except TEMPORARY_FAILURES as exc:
            logger.warning(
                "message_redelivery_scheduled",
                error=repr(exc),
                retry_in_seconds=self._retry_delay_seconds,
                remedy="check the database; the message is kept until it succeeds",
            )
            await asyncio.sleep(self._retry_delay_seconds)
            raise NackMessage() from exc
        except Exception as exc:
            # Unknown failures are retried too, paced so that a bug does not
            # spin, and logged with the traceback for a fix.
            logger.exception(
                "message_failed", retry_in_seconds=self._retry_delay_seconds
            )
            await asyncio.sleep(self._retry_delay_seconds)
            raise NackMessage() from exc


def _dead_letter(msg: KafkaMessage, exc: Exception) -> DeadLetter:
    record = msg.raw_message
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        headers={name: str(value) for name, value in msg.headers.items()},
        payload=record.value,
        reason=_reason(exc, record.topic),
    )


def _contract(topic: str) -> str:
    return "account message" if topic == ACCOUNT_MESSAGES_TOPIC else "link event"


def _reason(exc: Exception, topic: str) -> str:
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return f"payload is not JSON: {exc}"
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_input=False, include_url=False)
        details = "; ".join(f"{_location(error)}: {error['msg']}" for error in errors)
        return f"payload does not match the {_contract(topic)} contract: {details}"
    return str(exc)


def _log_fields(exc: Exception, topic: str) -> dict[str, object]:
    # A validation message may quote the rejected value, such as an INE. Logs
    # get the field paths and error types only, and the table keeps the rest.
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_input=False, include_url=False)
        return {
            "reason": f"payload does not match the {_contract(topic)} contract",
            "fields": [_location(error) for error in errors],
            "error_types": sorted({error["type"] for error in errors}),
        }
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return {"reason": "payload is not JSON", "error_type": type(exc).__name__}
    return {"reason": str(exc)}


def _location(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"])
