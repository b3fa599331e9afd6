"""French text and HTML of the refusal e-mail, rendered from the Jinja2
templates in ``templates/``."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.notifier.etablissements import school_name
from shared.contracts import LinkRefused

PARIS = ZoneInfo("Europe/Paris")

SOURCE_LABELS = {"onde": "ONDE", "siecle": "SIECLE"}
SCREEN_LABELS = {
    "activation": "lors de l'activation du compte",
    "page_intermediaire": "sur la page intermédiaire",
    "mon_compte": "depuis Mon compte",
}

# HTML templates escape every value; text templates and the subject keep them
# as they are. StrictUndefined turns a missing field into an error instead of
# an empty line in a mail.
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedMail:
    """Subject and bodies of one mail."""

    subject: str
    text: str
    html: str


def paris_time(moment: datetime) -> datetime:
    """Return ``moment`` in Europe/Paris time. A naive value is taken as UTC,
    the zone of the aware timestamps that the links service sends."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS)


def correction_deadline(refused_at: datetime, correction_days: int) -> date:
    """Return the date by which the source must be corrected: the refusal's
    date in Paris plus ``correction_days`` calendar days."""
    return paris_time(refused_at).date() + timedelta(days=correction_days)


def render_refusal(
    event: LinkRefused, *, academie_name: str, correction_days: int
) -> RenderedMail:
    """Render the mail telling the diffusion teams that a responsable refused
    the link to a pupil, with the correction deadline."""
    deadline = correction_deadline(event.occurred_at, correction_days)
    return render("refusal", refusal_context(event, academie_name, deadline))


def render(template: str, context: dict[str, object]) -> RenderedMail:
    """Render the mail ``template``: ``<template>_subject.txt``,
    ``<template>.txt`` and ``<template>.html`` with ``context``."""
    subject = _templates.get_template(f"{template}_subject.txt").render(context)
    return RenderedMail(
        # A subject is one header line, whatever the values contain.
        subject=" ".join(subject.split()),
        text=_templates.get_template(f"{template}.txt").render(context),
        html=_templates.get_template(f"{template}.html").render(context),
    )


def refusal_context(
    event: LinkRefused, academie_name: str, deadline: date
) -> dict[str, object]:
    """Return the template values describing the refusal ``event``, whose
    source must be corrected before ``deadline``."""
    refused_at = paris_time(event.occurred_at)
    correction_days = (deadline - refused_at.date()).days
    eleve = event.eleve
    responsable = event.responsable
    return {
        "academie": academie_name,
        "source": SOURCE_LABELS[eleve.source],
        "uai": eleve.uai,
        "etablissement": school_name(eleve.uai),
        "classe": eleve.classe,
        "eleve_reference": eleve.ine or eleve.source_eleve_id or eleve.eleve_id,
        "source_eleve_id": eleve.source_eleve_id,
        "ine": eleve.ine,
        "nom": eleve.nom,
        "prenom": eleve.prenom,
        "date_naissance": f"{eleve.date_naissance:%d/%m/%Y}",
        "responsable_id": responsable.responsable_id,
        "responsable_civilite": responsable.civilite,
        "responsable_nom": responsable.nom,
        "responsable_prenom": responsable.prenom,
        "screen": SCREEN_LABELS[event.screen],
        "refused_on": f"{refused_at:%d/%m/%Y}",
        "refused_at": f"{refused_at:%H} h {refused_at:%M}",
        "deadline": f"{deadline:%d/%m/%Y}",
        "correction_days": correction_days,
        "link_id": str(event.link_id),
    }
