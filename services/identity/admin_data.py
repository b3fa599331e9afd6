"""What *Administration des comptes* shows: a school's classes and pupils from
the links service, each responsable record joined to the identity account
that holds it, and per-school statistics for an IEN."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import asyncpg

from services.identity.links_client import LinksClient

AccountStatus = Literal["non_active", "active", "verrouille", "desactive", "aucun"]
STATUS_LABELS: dict[str, str] = {
    "non_active": "non activé",
    "active": "activé",
    "verrouille": "verrouillé",
    "desactive": "désactivé",
    "aucun": "aucun compte",
}
LINK_STATE_LABELS = {
    "proposed": "proposé",
    "confirmed": "confirmé",
    "refused": "refusé",
}
# Days the diffusion teams have to correct a refused link, as the notifier's
# NOTIFIER_CORRECTION_DAYS default.
CORRECTION_DAYS = 30


@dataclass(frozen=True)
class HolderAccount:
    """The identity account holding a responsable record, as staff see it:
    no e-mail, no password."""

    account_id: uuid.UUID
    identifiant: str
    status: AccountStatus
    activated: bool

    @property
    def status_label(self) -> str:
        """The status in French."""
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class ResponsableRow:
    """A responsable of a pupil: the link's state and the account's status."""

    responsable_id: str
    civilite: str
    nom: str
    prenom: str
    link_state: str
    decided_at: datetime | None
    account: HolderAccount | None

    @property
    def link_state_label(self) -> str:
        """The link's state in French."""
        return LINK_STATE_LABELS[self.link_state]


@dataclass(frozen=True)
class PupilRow:
    """A pupil of the school with their responsables."""

    eleve_id: str
    nom: str
    prenom: str
    classe: str
    responsables: list[ResponsableRow]
    # The pupil's own account, when identity provisioned one.
    account: HolderAccount | None = None


@dataclass(frozen=True)
class ClassSummary:
    """A class of the school with its counts."""

    classe: str
    pupils: int = 0
    responsables: int = 0
    activated: int = 0
    proposed: int = 0
    refused: int = 0


@dataclass
class School:
    """A school's classes and pupils (of one class when asked)."""

    uai: str
    source: str | None
    classes: list[str]
    pupils: list[PupilRow] = field(default_factory=list)

    def accounts(self) -> dict[uuid.UUID, HolderAccount]:
        """Return every account of these pupils and of the responsable
        records linked to them, by id."""
        held = {
            row.account.account_id: row.account
            for pupil in self.pupils
            for row in pupil.responsables
            if row.account is not None
        }
        return held | {
            pupil.account.account_id: pupil.account
            for pupil in self.pupils
            if pupil.account is not None
        }

    def class_summaries(self) -> list[ClassSummary]:
        """Counts of each class, in the order of ``classes``. A responsable
        of two pupils of the class (twins) counts once, as does an account."""
        pupils: dict[str, int] = {}
        responsables: dict[str, set[str]] = {}
        activated: dict[str, set[uuid.UUID]] = {}
        proposed: dict[str, int] = {}
        refused: dict[str, int] = {}
        for pupil in self.pupils:
            classe = pupil.classe
            pupils[classe] = pupils.get(classe, 0) + 1
            for row in pupil.responsables:
                responsables.setdefault(classe, set()).add(row.responsable_id)
                if row.account is not None and row.account.activated:
                    activated.setdefault(classe, set()).add(row.account.account_id)
                proposed[classe] = proposed.get(classe, 0) + (
                    row.link_state == "proposed"
                )
                refused[classe] = refused.get(classe, 0) + (row.link_state == "refused")
        return [
            ClassSummary(
                classe,
                pupils.get(classe, 0),
                len(responsables.get(classe, ())),
                len(activated.get(classe, ())),
                proposed.get(classe, 0),
                refused.get(classe, 0),
            )
            for classe in dict.fromkeys([*self.classes, *pupils])
        ]


@dataclass(frozen=True)
class SchoolStatistics:
    """An IEN's figures for one school of the circonscription."""

    uai: str
    pupils: int
    responsables: int
    activated: int
    proposed: int
    refused: int
    overdue_refusals: int

    @property
    def activation_rate(self) -> str:
        """The share of responsable records whose account is activated, in
        French notation (« 42 % »), or « – » without any record."""
        if not self.responsables:
            return "–"
        return f"{round(100 * self.activated / self.responsables)} %"


_STATUS = """
    CASE WHEN a.disabled_at IS NOT NULL THEN 'desactive'
         WHEN a.locked_until > now() THEN 'verrouille'
         WHEN a.activated_at IS NOT NULL THEN 'active'
         ELSE 'non_active' END AS status,
    a.activated_at IS NOT NULL AS activated
"""


async def pupil_accounts(
    connection: asyncpg.Connection, eleve_ids: Iterable[str]
) -> dict[str, HolderAccount]:
    """Return the own account of each pupil that has one, by pupil id."""
    rows = await connection.fetch(
        f"SELECT a.eleve_id, a.account_id, a.identifiant, {_STATUS}"
        " FROM accounts a WHERE a.kind = 'eleve' AND a.eleve_id = ANY($1::text[])",
        list(set(eleve_ids)),
    )
    return {
        row["eleve_id"]: HolderAccount(
            row["account_id"], row["identifiant"], row["status"], row["activated"]
        )
        for row in rows
    }


async def holder_accounts(
    connection: asyncpg.Connection, responsable_ids: Iterable[str]
) -> dict[str, HolderAccount]:
    """Return the account holding each responsable record, by record id;
    records without an account are left out."""
    rows = await connection.fetch(
        """
        SELECT held.responsable_id, a.account_id, a.identifiant, """
        + _STATUS
        + """
        FROM account_responsables held JOIN accounts a USING (account_id)
        WHERE held.responsable_id = ANY($1::text[])
        """,
        list(set(responsable_ids)),
    )
    return {
        row["responsable_id"]: HolderAccount(
            row["account_id"], row["identifiant"], row["status"], row["activated"]
        )
        for row in rows
    }


async def load_school(
    links: LinksClient,
    connection: asyncpg.Connection,
    uai: str,
    classe: str | None = None,
) -> School:
    """Return the school's classes and pupils, of one class when ``classe``
    is given, each responsable with its account's status."""
    data = await links.school(uai, classe)
    responsable_ids = [
        link["responsable_id"] for pupil in data["pupils"] for link in pupil["links"]
    ]
    accounts = await holder_accounts(connection, responsable_ids)
    own_accounts = await pupil_accounts(
        connection, [pupil["eleve_id"] for pupil in data["pupils"]]
    )
    sources = {pupil["source"] for pupil in data["pupils"]}
    school = School(
        uai=data["uai"],
        source=sources.pop() if len(sources) == 1 else None,
        classes=data["classes"],
    )
    for pupil in data["pupils"]:
        rows = []
        for link in pupil["links"]:
            known = link["responsable"] or {"civilite": "", "nom": "", "prenom": ""}
            rows.append(
                ResponsableRow(
                    responsable_id=link["responsable_id"],
                    civilite=known["civilite"],
                    nom=known["nom"] or link["responsable_id"],
                    prenom=known["prenom"],
                    link_state=link["state"],
                    decided_at=datetime.fromisoformat(link["decided_at"])
                    if link["decided_at"]
                    else None,
                    account=accounts.get(link["responsable_id"]),
                )
            )
        school.pupils.append(
            PupilRow(
                eleve_id=pupil["eleve_id"],
                nom=pupil["nom_usage"] or pupil["nom"],
                prenom=pupil["prenom"],
                classe=pupil["classe"],
                responsables=rows,
                account=own_accounts.get(pupil["eleve_id"]),
            )
        )
    return school


async def load_statistics(
    links: LinksClient, connection: asyncpg.Connection, uais: Sequence[str]
) -> list[SchoolStatistics]:
    """Return the figures of each school, in the order given."""
    if not uais:
        return []
    figures = await links.school_statistics(uais, CORRECTION_DAYS)
    accounts = await holder_accounts(
        connection, [rid for school in figures for rid in school["responsable_ids"]]
    )
    return [
        SchoolStatistics(
            uai=school["uai"],
            pupils=school["pupils"],
            responsables=len(school["responsable_ids"]),
            activated=sum(
                rid in accounts and accounts[rid].activated
                for rid in school["responsable_ids"]
            ),
            proposed=school["proposed"],
            refused=school["refused"],
            overdue_refusals=school["overdue_refusals"],
        )
        for school in figures
    ]
