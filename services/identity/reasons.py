"""Why a child is proposed to a parent: the child's school and source, and
which of the name, e-mail and mobile phone of the responsable record the
link comes from match the account's."""

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from services.identity.links_client import Link
from services.identity.phones import phone_key
from shared.names import email_key, name_key
from shared.types import validate_uai

SCHOOLS_FILE = Path(__file__).parent / "schools.toml"
SOURCE_LABELS = {
    "onde": "ONDE, premier degré",
    "siecle": "SIECLE, second degré",
}
MATCH_LABELS = {
    "name": "nom et prénom",
    "email": "adresse électronique",
    "mobile": "téléphone portable",
}


@cache
def school_names(path: Path = SCHOOLS_FILE) -> dict[str, str]:
    """Return the school names of ``path`` by UAI, or raise ValueError naming
    the first entry that is not a UAI with a non-empty name."""
    # NOTE: the notifier ships the same list for its mails; a school
    # directory in shared/ would keep one copy.
    with path.open("rb") as file:
        entries = tomllib.load(file)
    names = {}
    for uai, name in entries.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{path}: school {uai!r} has no name")
        names[validate_uai(uai)] = name.strip()
    return names


@dataclass(frozen=True)
class ProposalReason:
    """The explanation shown to a parent about a proposed child."""

    uai: str
    school_name: str | None
    source_label: str
    matched: tuple[str, ...]

    @property
    def matched_labels(self) -> list[str]:
        """The French words of what matched, in a fixed order."""
        return [MATCH_LABELS[item] for item in self.matched]


def _held_records(account) -> dict[str, dict]:
    records = {}
    for text in account.get("held_records") or []:
        record = json.loads(text)
        records[record["responsable_id"]] = record
    return records


def proposal_reason(account, child: Link) -> ProposalReason:
    """Return why ``child`` is proposed to ``account``: its school, its source,
    and which of the name, e-mail and mobile phone of the child's responsable
    record are the account's. The account's e-mail is the one given at
    activation, else the one of its own record. Its mobile is the one that
    created it, else the one of its own record."""
    record = _held_records(account).get(child.responsable_id)
    matched: list[str] = []
    if record is not None:
        if (name_key(record["nom"]), name_key(record["prenom"])) == (
            name_key(account["nom"]),
            name_key(account["prenom"]),
        ):
            matched.append("name")
        account_email = email_key(account["email"] or account["source_email"])
        if account_email and email_key(record["email"]) == account_email:
            matched.append("email")
        account_mobile = account["creation_mobile"] or phone_key(
            account["source_mobile"]
        )
        if account_mobile and phone_key(record["mobile"]) == account_mobile:
            matched.append("mobile")
    return ProposalReason(
        uai=child.uai,
        school_name=school_names().get(child.uai),
        source_label=SOURCE_LABELS[child.source],
        matched=tuple(matched),
    )
