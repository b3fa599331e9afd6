"""Payloads of the events that cross service boundaries.

Each payload names its own ``type`` so that one topic can carry several kinds
of event and a subscriber can parse them with one discriminated union. The
same value is sent in the ``ce_type`` header (see ``shared.kafka``).

Import events carry state, not deltas: an ``EleveImported`` contains the pupil's
whole record and every legal responsable the source gives for that pupil, so a
subscriber can apply it whatever it saw before.
"""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.types import INE, UAI

Source = Literal["onde", "siecle"]
Screen = Literal["activation", "page_intermediaire", "mon_compte"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    academie: str = Field(description="Académie code, for example 'versailles'.")


class ResponsableImported(_Event):
    """A responsable record as the source exports it today."""

    type: Literal["responsable.imported"] = "responsable.imported"
    responsable_id: str = Field(
        description="Stable id of the record: 'siecle:<PERSONNE_ID>' for SIECLE, "
        "'onde:<UAI>:<digest>' for ONDE, whose exports carry no id for adults."
    )
    source: Source
    civilite: str = Field(description="'M.' or 'MME', as exported.")
    nom: str
    prenom: str
    email: str | None = None
    telephone_portable: str | None = None


class ResponsableRemoved(_Event):
    """A responsable record that the académie's last full export no longer has."""

    type: Literal["responsable.removed"] = "responsable.removed"
    responsable_id: str
    source: Source


class EleveLink(BaseModel):
    """A legal responsable of a pupil, as the source gives it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    responsable_id: str
    code_parente: str | None = Field(
        default=None, description="SIECLE relationship code: 10 mother, 20 father…"
    )


class EleveImported(_Event):
    """A pupil enrolled in a school, with every legal responsable of the source."""

    type: Literal["eleve.imported"] = "eleve.imported"
    eleve_id: str = Field(
        description="Stable id of the pupil across sources: the INE when known."
    )
    ine: INE | None = None
    source: Source
    source_eleve_id: str | None = Field(
        default=None, description="SIECLE ELEVE_ID; ONDE exports have none."
    )
    uai: UAI
    classe: str = Field(
        description="SIECLE division code (for example '5A') or ONDE class label."
    )
    nom: str
    nom_usage: str | None = None
    prenom: str
    date_naissance: date
    responsables: tuple[EleveLink, ...] = ()


class EleveRemoved(_Event):
    """A pupil no longer enrolled in the académie for that source."""

    type: Literal["eleve.removed"] = "eleve.removed"
    eleve_id: str
    source: Source
    uai: UAI


ImportEvent = Annotated[
    ResponsableImported | ResponsableRemoved | EleveImported | EleveRemoved,
    Field(discriminator="type"),
]

# The value of one message of an import topic: its events, in the order to
# apply them (see ``shared.contracts.topics.BATCH_TYPES``).
ImportBatch = Annotated[list[ImportEvent], Field(min_length=1)]


class LinkedEleve(BaseModel):
    """Pupil details the diffusion teams need to find the pupil in their source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    eleve_id: str
    ine: INE | None
    source: Source
    source_eleve_id: str | None
    uai: UAI
    classe: str
    nom: str
    prenom: str
    date_naissance: date


class LinkedResponsable(BaseModel):
    """Responsable details the diffusion teams need to find them in their source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    responsable_id: str
    civilite: str
    nom: str
    prenom: str


class _LinkEvent(_Event):
    link_id: UUID
    eleve_id: str
    responsable_id: str
    occurred_at: datetime


class LinkProposed(_LinkEvent):
    """A link that an import brought in; the responsable has not decided yet."""

    type: Literal["link.proposed"] = "link.proposed"


class LinkConfirmed(_LinkEvent):
    """Event: the responsable confirmed being the pupil's legal representative."""

    type: Literal["link.confirmed"] = "link.confirmed"
    screen: Screen = Field(
        description="Screen of the confirmation. With origin 'rollout' it is "
        "'activation'; with 'source_change', the screen of the carried-over one."
    )
    origin: Literal["decision", "rollout", "source_change"] = Field(
        default="decision",
        description="'decision': the responsable confirmed on a screen. "
        "'rollout': the account was activated before links had states. "
        "'source_change': the pupil moved to another source (ONDE to SIECLE) "
        "and the same person's link there was confirmed.",
    )
    carried_over_from: UUID | None = Field(
        default=None,
        description="With origin 'source_change', the link of the former "
        "source whose confirmation this link takes over.",
    )


class LinkRefused(_LinkEvent):
    """Event: the responsable stated they are not the pupil's legal representative.

    It carries the pupil and responsable as the source exported them, so that
    the diffusion teams can correct the source without another look-up.
    """

    type: Literal["link.refused"] = "link.refused"
    screen: Screen
    eleve: LinkedEleve
    responsable: LinkedResponsable


class LinkRefusalWithdrawn(_LinkEvent):
    """Event: a responsable who had refused a link confirmed it after all, so
    the diffusion teams' correction case is closed."""

    type: Literal["link.refusal_withdrawn"] = "link.refusal_withdrawn"
    screen: Screen


class LinkRemoved(_LinkEvent):
    """The source no longer has the link."""

    type: Literal["link.removed"] = "link.removed"
    previous_state: Literal["proposed", "confirmed", "refused"]


LinkEvent = Annotated[
    LinkProposed | LinkConfirmed | LinkRefused | LinkRefusalWithdrawn | LinkRemoved,
    Field(discriminator="type"),
]

# The value of one message of the links topic: its events, in their order.
LinkBatch = Annotated[list[LinkEvent], Field(min_length=1)]
