"""Use cases of the notifier: turning a link event into the mail it calls
for."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BeforeValidator

from services.notifier.account_messages import (
    ACCOUNT_MESSAGES_CONSUMER,
    DEFAULT_SMS_GATEWAY_DOMAIN,
    AccountMessage,
    compose_account_mail,
    expires_at,
)
from services.notifier.case_mails import compose_closure
from services.notifier.cases import CaseBook, ClosingReason
from services.notifier.directory import Directory
from services.notifier.mail import OutgoingMail, message_id_for
from services.notifier.mail_queue import MailQueue
from services.notifier.rendering import correction_deadline, render_refusal
from shared.contracts import (
    LinkBatch,
    LinkEvent,
    LinkRefusalWithdrawn,
    LinkRefused,
    LinkRemoved,
)


def _as_batch(value: object) -> object:
    return [value] if isinstance(value, dict) else value


# A message of the links topic: a batch of events, or a lone event, which the
# relay of an earlier release publishes there and which counts as a batch of
# one.
LinkMessage = Annotated[LinkBatch, BeforeValidator(_as_batch)]

# The inbox name under which refusal events are recorded as processed.
REFUSALS_CONSUMER = "notifier.refusals"
REFUSAL_KIND = "refusal"


class Outcome(StrEnum):
    """Result of handling one link event."""

    QUEUED = "queued"
    PARKED = "parked"
    CLOSED = "closed"
    NO_OPEN_CASE = "no_open_case"
    EXPIRED = "expired"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


def compose_refusal_mail(
    event: LinkRefused, event_id: UUID, *, directory: Directory, correction_days: int
) -> OutgoingMail:
    """Compose the mail of one refusal: To the diffusion team of the pupil's
    source (ONDE or SIECLE), Cc the EduConnect diffusion team. For an académie
    missing from the directory the mail is composed without recipients and
    parked, so the refusal is kept until the directory is fixed."""
    academie = directory.get(event.academie)
    rendered = render_refusal(
        event,
        academie_name=academie.name if academie else event.academie,
        correction_days=correction_days,
    )
    return OutgoingMail(
        message_id=message_id_for(event_id, REFUSAL_KIND),
        kind=REFUSAL_KIND,
        event_id=event_id,
        academie=event.academie,
        to=(academie.diffusion_team(event.eleve.source),) if academie else (),
        cc=(academie.educonnect,) if academie else (),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        parked_reason=None if academie else f"unknown académie {event.academie!r}",
    )


async def handle_link_event(
    event: LinkEvent,
    event_id: UUID,
    *,
    queue: MailQueue,
    cases: CaseBook,
    directory: Directory,
    correction_days: int,
) -> Outcome:
    """Apply one link event, once per event id.

    A ``LinkRefused`` queues its mail and opens a case. A
    ``LinkRefusalWithdrawn``, or a ``LinkRemoved`` of a refused link because
    the source was corrected, closes the link's case with a notice. Other link
    events need no mail but are recorded as processed."""
    if isinstance(event, LinkRefused):
        mail = compose_refusal_mail(
            event, event_id, directory=directory, correction_days=correction_days
        )
        if not await cases.open(
            consumer=REFUSALS_CONSUMER,
            event_id=event_id,
            refusal=event,
            deadline=correction_deadline(event.occurred_at, correction_days),
            mail=mail,
        ):
            return Outcome.DUPLICATE
        return Outcome.QUEUED if mail.parked_reason is None else Outcome.PARKED

    reason = _closing_reason(event)
    if reason is not None:
        screen = event.screen if isinstance(event, LinkRefusalWithdrawn) else None
        closing = await cases.close(
            consumer=REFUSALS_CONSUMER,
            event_id=event_id,
            link_id=event.link_id,
            reason=reason,
            closed_at=event.occurred_at,
            compose_notice=lambda case: compose_closure(
                case,
                event_id=event_id,
                reason=reason,
                closed_at=event.occurred_at,
                screen=screen,
                directory=directory,
            ),
        )
        if not closing.recorded:
            return Outcome.DUPLICATE
        return Outcome.CLOSED if closing.case else Outcome.NO_OPEN_CASE

    recorded = await queue.add_once(
        consumer=REFUSALS_CONSUMER, event_id=event_id, mail=None
    )
    return Outcome.IGNORED if recorded else Outcome.DUPLICATE


def _closing_reason(event: LinkEvent) -> ClosingReason | None:
    if isinstance(event, LinkRefusalWithdrawn):
        return "withdrawn"
    if isinstance(event, LinkRemoved) and event.previous_state == "refused":
        return "corrected"
    return None


async def handle_account_message(
    message: AccountMessage,
    event_id: UUID,
    *,
    queue: MailQueue,
    now: datetime,
    sms_gateway_domain: str = DEFAULT_SMS_GATEWAY_DOMAIN,
) -> Outcome:
    """Queue the mail of one account message, once per event id; a mobile
    code goes to the e-mail-to-SMS gateway of ``sms_gateway_domain``. A
    message that expired before it was consumed, a code no longer valid, is
    recorded as processed without a mail."""
    # NOTE: the expiry is checked here only, because the mail queue keeps no
    # expiry. A mail queued in time but held back by an SMTP outage is still
    # sent late. An expires_at column checked by the sender would fix it.
    expiry = expires_at(message)
    mail = None
    if expiry is None or expiry > now:
        mail = compose_account_mail(
            message, event_id, sms_gateway_domain=sms_gateway_domain
        )
    if not await queue.add_once(
        consumer=ACCOUNT_MESSAGES_CONSUMER, event_id=event_id, mail=mail
    ):
        return Outcome.DUPLICATE
    return Outcome.QUEUED if mail is not None else Outcome.EXPIRED
