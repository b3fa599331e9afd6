"""The link life cycle: states, the decisions a responsable can make, and the
transition each decision causes."""

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

Choice = Literal["confirm", "refuse"]

# Links are identified by their pupil and responsable, so that the same pair
# gets the same id whatever the number of imports that carry it.
_LINK_NAMESPACE = uuid.UUID("5d3c1d52-8f0e-4c2b-9a57-0d6f1e1f4a10")


class LinkState(StrEnum):
    """State of a link that its source still has."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


def link_id_for(eleve_id: str, responsable_id: str) -> uuid.UUID:
    """Return the id of the link between a pupil and a responsable."""
    return uuid.uuid5(_LINK_NAMESPACE, f"{eleve_id}\x1f{responsable_id}")


@dataclass(frozen=True)
class Decision:
    """A responsable's decision on one link, with the birth date when confirming."""

    link_id: uuid.UUID
    choice: Choice
    date_naissance: date | None = None


@dataclass(frozen=True)
class DecisionError:
    """Reason one decision of a request cannot be applied."""

    link_id: uuid.UUID
    code: Literal["birth_date_missing", "birth_date_mismatch"]


def state_after(choice: Choice) -> LinkState:
    """Return the state a link takes after ``choice``, from any state."""
    return LinkState.CONFIRMED if choice == "confirm" else LinkState.REFUSED


def check_decision(decision: Decision, date_naissance: date) -> DecisionError | None:
    """Check a decision against the pupil's recorded birth date. Refusing needs
    no birth date; confirming needs the right one."""
    if decision.choice == "refuse":
        return None
    if decision.date_naissance is None:
        return DecisionError(decision.link_id, "birth_date_missing")
    if decision.date_naissance != date_naissance:
        return DecisionError(decision.link_id, "birth_date_mismatch")
    return None
