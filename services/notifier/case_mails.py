"""The mails of a correction case after its opening refusal: the reminder,
the escalation, the closing notice and the académie's daily digest, with
their recipients and Message-IDs.

| mail       | To                     | Cc                                          |
| ---        | ---                    | ---                                         |
| reminder   | source diffusion team  | EduConnect diffusion team                   |
| escalation | assistance team        | source diffusion team, EduConnect team      |
| closure    | source diffusion team  | EduConnect team, and assistance if escalated |
| digest     | EduConnect team        | none                                        |

A mail for an académie missing from the directory is composed without
recipients and parked, as the refusal mail is.
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from services.notifier.cases import Case, ClosingReason
from services.notifier.directory import Academie, Directory
from services.notifier.mail import OutgoingMail, message_id_for
from services.notifier.rendering import (
    SCREEN_LABELS,
    SOURCE_LABELS,
    RenderedMail,
    paris_time,
    refusal_context,
    render,
)

REMINDER_KIND = "reminder"
ESCALATION_KIND = "escalation"
CLOSURE_KIND = "closure"
DIGEST_KIND = "digest"

# Digests have no event; their ids derive from the académie and the day.
_DIGEST_NAMESPACE = uuid.UUID("5d3c7f2e-8f0a-4c5b-9a51-2f8e4b7d1c60")


def compose_reminder(case: Case, *, today: date, directory: Directory) -> OutgoingMail:
    """Compose the reminder telling the diffusion team that the case's
    deadline is near."""
    academie = directory.get(case.academie)
    context = _case_context(case, academie)
    context["days_left"] = (case.deadline - today).days
    return _mail(
        REMINDER_KIND,
        case.opened_by,
        case.academie,
        render(REMINDER_KIND, context),
        to=(academie.diffusion_team(case.refusal.eleve.source),) if academie else (),
        cc=(academie.educonnect,) if academie else (),
    )


def compose_escalation(case: Case, *, directory: Directory) -> OutgoingMail:
    """Compose the escalation telling the assistance team that the case's
    deadline has passed."""
    academie = directory.get(case.academie)
    cc = (
        (academie.diffusion_team(case.refusal.eleve.source), academie.educonnect)
        if academie
        else ()
    )
    return _mail(
        ESCALATION_KIND,
        case.opened_by,
        case.academie,
        render(ESCALATION_KIND, _case_context(case, academie)),
        to=(academie.assistance,) if academie else (),
        cc=cc,
    )


def compose_closure(
    case: Case,
    *,
    event_id: UUID,
    reason: ClosingReason,
    closed_at: datetime,
    screen: str | None,
    directory: Directory,
) -> OutgoingMail:
    """Compose the short notice that closes ``case``, to every team that
    heard of it. ``screen`` is where a withdrawal was made."""
    academie = directory.get(case.academie)
    context = _case_context(case, academie)
    closed_on = f"{paris_time(closed_at):%d/%m/%Y}"
    if reason == "withdrawn":
        where = f" {SCREEN_LABELS[screen]}" if screen in SCREEN_LABELS else ""
        context["closing"] = (
            "le responsable a finalement confirmé être le représentant légal "
            f"de l'élève{where}, le {closed_on}."
        )
    else:
        context["closing"] = (
            f"le rattachement ne figure plus dans {context['source']} "
            f"(correction constatée le {closed_on})."
        )

    cc: tuple[str, ...] = ()
    if academie:
        cc = (academie.educonnect,)
        if case.escalated_at is not None:
            cc += (academie.assistance,)
    return _mail(
        CLOSURE_KIND,
        event_id,
        case.academie,
        render(CLOSURE_KIND, context),
        to=(academie.diffusion_team(case.refusal.eleve.source),) if academie else (),
        cc=cc,
    )


def compose_digest(
    academie_code: str, cases: Sequence[Case], *, day: date, directory: Directory
) -> OutgoingMail:
    """Compose the digest of the open ``cases`` of one académie on ``day``,
    for its EduConnect diffusion team, which is copied on every refusal. The
    source teams get each case's own mails instead."""
    academie = directory.get(academie_code)
    context: dict[str, object] = {
        "academie": academie.name if academie else academie_code,
        "day": f"{day:%d/%m/%Y}",
        "cases": [_digest_line(case, day) for case in cases],
    }
    event_id = uuid.uuid5(_DIGEST_NAMESPACE, f"{academie_code}/{day.isoformat()}")
    return _mail(
        DIGEST_KIND,
        event_id,
        academie_code,
        render(DIGEST_KIND, context),
        to=(academie.educonnect,) if academie else (),
        cc=(),
    )


def _case_context(case: Case, academie: Academie | None) -> dict[str, object]:
    name = academie.name if academie else case.academie
    return refusal_context(case.refusal, name, case.deadline)


def _digest_line(case: Case, day: date) -> dict[str, str]:
    eleve = case.refusal.eleve
    if case.deadline <= day:
        state = "délai dépassé"
    elif case.reminded_at is not None:
        state = "rappel envoyé"
    else:
        state = "en cours"
    return {
        "source": SOURCE_LABELS[eleve.source],
        "uai": eleve.uai,
        "classe": eleve.classe,
        "eleve_reference": eleve.ine or eleve.source_eleve_id or eleve.eleve_id,
        "refused_on": f"{paris_time(case.refusal.occurred_at):%d/%m/%Y}",
        "deadline": f"{case.deadline:%d/%m/%Y}",
        "state": state,
        "link_id": str(case.refusal.link_id),
    }


def _mail(
    kind: str,
    event_id: UUID,
    academie: str,
    rendered: RenderedMail,
    *,
    to: tuple[str, ...],
    cc: tuple[str, ...],
) -> OutgoingMail:
    return OutgoingMail(
        message_id=message_id_for(event_id, kind),
        kind=kind,
        event_id=event_id,
        academie=academie,
        to=to,
        cc=cc,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        parked_reason=None if to else f"unknown académie {academie!r}",
    )
