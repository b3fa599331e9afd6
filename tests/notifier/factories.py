"""Link events with fresh ids, for the notifier's tests."""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from shared.contracts import (
    LinkConfirmed,
    LinkRefusalWithdrawn,
    LinkRefused,
    LinkRemoved,
)
from shared.contracts.events import LinkedEleve, LinkedResponsable


def make_refusal(
    *,
    academie: str = "versailles",
    source: str = "siecle",
    occurred_at: datetime | None = None,
    screen: str = "page_intermediaire",
    **eleve_fields: Any,
) -> LinkRefused:
    """Return a refusal of a fictitious pupil, with ``eleve_fields`` replacing
    the pupil's defaults (``ine=None``, ``nom="…"``…)."""
    eleve = {
        "eleve_id": "9900000001K",
        "ine": "9900000001K",
        "source": source,
        "source_eleve_id": "412345" if source == "siecle" else None,
        "uai": "0991234X",
        "classe": "5A" if source == "siecle" else "CE2 - Mme Martin",
        "nom": "Lefèvre",
        "prenom": "Zoé",
        "date_naissance": date(2011, 9, 3),
        **eleve_fields,
    }
    responsable = LinkedResponsable(
        responsable_id=f"{source}:778899", civilite="M.", nom="Durand", prenom="Paul"
    )
    return LinkRefused(
        academie=academie,
        link_id=uuid.uuid4(),
        eleve_id=eleve["eleve_id"],
        responsable_id=responsable.responsable_id,
        occurred_at=occurred_at or datetime(2020, 1, 15, 9, 45, tzinfo=UTC),
        screen=screen,
        eleve=LinkedEleve(**eleve),
        responsable=responsable,
    )


def make_confirmation(*, academie: str = "versailles") -> LinkConfirmed:
    """Return a confirmation, an event that needs no mail."""
    return LinkConfirmed(
        academie=academie,
        link_id=uuid.uuid4(),
        eleve_id="9900000001K",
        responsable_id="siecle:778899",
        occurred_at=datetime(2020, 1, 15, 9, 45, tzinfo=UTC),
        screen="activation",
    )


def make_withdrawal(
    refusal: LinkRefused, *, occurred_at: datetime | None = None
) -> LinkRefusalWithdrawn:
    """Return the withdrawal of ``refusal``: the responsable confirmed the link
    from Mon compte after all."""
    return LinkRefusalWithdrawn(
        academie=refusal.academie,
        link_id=refusal.link_id,
        eleve_id=refusal.eleve_id,
        responsable_id=refusal.responsable_id,
        occurred_at=occurred_at or datetime(2020, 1, 20, 8, 30, tzinfo=UTC),
        screen="mon_compte",
    )


def make_removal(
    refusal: LinkRefused,
    *,
    previous_state: str = "refused",
    occurred_at: datetime | None = None,
) -> LinkRemoved:
    """Return the removal of ``refusal``'s link from the source, which is how
    the links service reports a corrected source."""
    return LinkRemoved(
        academie=refusal.academie,
        link_id=refusal.link_id,
        eleve_id=refusal.eleve_id,
        responsable_id=refusal.responsable_id,
        occurred_at=occurred_at or datetime(2020, 1, 27, 3, 0, tzinfo=UTC),
        previous_state=previous_state,
    )
