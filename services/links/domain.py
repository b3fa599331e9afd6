"""The link life cycle: states, the decisions a responsable can make, the
transition each decision causes, and the rules that can reject a decision."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

from asyncpg.pgproto.pgproto import UUID as FastUUID

from shared.names import email_key, name_key, phone_key

Choice = Literal["confirm", "refuse"]
ErrorCode = Literal[
    "birth_date_missing",
    "birth_date_mismatch",
    "too_many_attempts",
    "last_confirmed_link",
]

# Links are identified by their pupil and responsable, so that the same pair
# gets the same id whatever the number of imports that carry it.
_LINK_NAMESPACE = uuid.UUID("5d3c1d52-8f0e-4c2b-9a57-0d6f1e1f4a10")
_LINK_NAMESPACE_BYTES = _LINK_NAMESPACE.bytes


class LinkState(StrEnum):
    """State of a link that its source still has."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


def link_id_for(eleve_id: str, responsable_id: str) -> uuid.UUID:
    """Return the id of the link between a pupil and a responsable: the
    version 5 UUID of the pair in ``_LINK_NAMESPACE``, as ``uuid.uuid5``
    gives it.

    A first import computes millions. The result is asyncpg's ``UUID``, a
    subclass of ``uuid.UUID`` written in C. On the development machine it
    took 0.86 µs to build and 0.05 µs to write as text, against 1.43 µs and
    0.57 µs for ``uuid.UUID``; ``uuid.uuid5`` takes more still."""
    name = f"{eleve_id}\x1f{responsable_id}".encode()
    digest = bytearray(
        hashlib.sha1(_LINK_NAMESPACE_BYTES + name, usedforsecurity=False).digest()[:16]
    )
    # The version (5) and the variant of RFC 4122, as ``uuid.UUID`` sets them.
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    return FastUUID(bytes(digest))


@dataclass(frozen=True)
class Decision:
    """A responsable's decision on one link, with the birth date when confirming."""

    link_id: uuid.UUID
    choice: Choice
    date_naissance: date | None = None


@dataclass(frozen=True)
class DecisionError:
    """Reason one decision of a request cannot be applied. ``retry_after`` is
    set with ``too_many_attempts``: the wait before a new birth date is checked."""

    link_id: uuid.UUID
    code: ErrorCode
    retry_after: timedelta | None = None


@dataclass(frozen=True)
class BirthDateThrottle:
    """Limits on wrong birth dates, so that a date cannot be found by trying
    every day of a year: at most ``per_responsable`` wrong dates by one
    responsable within ``responsable_window``, and ``per_eleve`` wrong dates for
    one pupil (typed by any responsable) within ``eleve_window``."""

    per_responsable: int = 5
    responsable_window: timedelta = timedelta(hours=1)
    per_eleve: int = 5
    eleve_window: timedelta = timedelta(days=1)


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


@dataclass(frozen=True)
class ResponsableIdentity:
    """Name and contacts of a responsable record, the fields that both sources
    export for one person."""

    nom: str
    prenom: str
    email: str | None
    telephone_portable: str | None


def same_responsable(old: ResponsableIdentity, new: ResponsableIdentity) -> bool:
    """Tell whether two records from different sources are the same person.

    ONDE and SIECLE give one person two unrelated ids, so the records are
    compared on what both export: the name (accents, case and hyphens ignored)
    and at least one contact, the e-mail address or the mobile number. A name
    alone is never enough, because siblings' guardians often share it.
    """
    if name_key(old.nom) != name_key(new.nom):
        return False
    if name_key(old.prenom) != name_key(new.prenom):
        return False
    old_email, new_email = email_key(old.email), email_key(new.email)
    if old_email is not None and old_email == new_email:
        return True
    old_phone = phone_key(old.telephone_portable)
    return old_phone is not None and old_phone == phone_key(new.telephone_portable)
