"""Use cases of the notifier: turning a link event into the mail it calls
for."""

from enum import StrEnum
from uuid import UUID

from services.notifier.directory import Directory
from services.notifier.mail import OutgoingMail, message_id_for
from services.notifier.mail_queue import MailQueue
from services.notifier.rendering import render_refusal
from shared.contracts import LinkEvent, LinkRefused

# The inbox name under which refusal events are recorded as processed.
REFUSALS_CONSUMER = "notifier.refusals"
REFUSAL_KIND = "refusal"


class Outcome(StrEnum):
    """Result of handling one link event."""

    QUEUED = "queued"
    PARKED = "parked"
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
    directory: Directory,
    correction_days: int,
) -> Outcome:
    """Queue the refusal mail of a ``LinkRefused`` event, once per event id.
    Other link events need no mail yet but are recorded as processed too."""
    if not isinstance(event, LinkRefused):
        recorded = await queue.add_once(
            consumer=REFUSALS_CONSUMER, event_id=event_id, mail=None
        )
        return Outcome.IGNORED if recorded else Outcome.DUPLICATE

    mail = compose_refusal_mail(
        event, event_id, directory=directory, correction_days=correction_days
    )
    if not await queue.add_once(
        consumer=REFUSALS_CONSUMER, event_id=event_id, mail=mail
    ):
        return Outcome.DUPLICATE
    return Outcome.QUEUED if mail.parked_reason is None else Outcome.PARKED
