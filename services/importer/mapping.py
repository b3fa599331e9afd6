"""Payloads of the events that describe one school's export, and the
digest that shows whether a payload changed since it was last published.

Most records of a weekly export are unchanged, so payloads are written
straight from the records, without building the pydantic events: the JSON is
byte for byte what ``EleveImported`` or ``ResponsableImported`` gives with
``model_dump_json`` (``tests/importer/unit/test_payloads.py`` checks it).
The outbox stores it as the event's payload, and its SHA-256 is the digest
kept in the snapshot. The parsers have already checked every value the
events' models check (INE and UAI shapes).
"""

import hashlib
import json
from dataclasses import dataclass

from services.importer.records import EleveRecord, ResponsableRecord

# pydantic's JSON: no blanks, non-ASCII characters as they are.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class Payload:
    """The JSON payload of an ``EleveImported`` or ``ResponsableImported``
    event, with its digest; ``links`` holds a pupil's responsable ids,
    sorted."""

    id: str
    json: str
    digest: str
    links: tuple[str, ...] = ()

    @classmethod
    def of(cls, id_: str, payload: str, links: tuple[str, ...] = ()) -> "Payload":
        """Return the payload with its digest."""
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        return cls(id_, payload, digest, links)


def eleve_payload(record: EleveRecord, academie: str, source: str, uai: str) -> Payload:
    """Return the payload of the pupil's ``EleveImported`` event.

    Links are sorted by responsable id, so that a source listing them in
    another order does not count as a change.
    """
    links = sorted(record.responsables, key=lambda link: link.responsable_id)
    payload = _encode(
        {
            "academie": academie,
            "type": "eleve.imported",
            "eleve_id": record.eleve_id,
            "ine": record.ine,
            "source": source,
            "source_eleve_id": record.source_eleve_id,
            "uai": uai,
            "classe": record.classe,
            "nom": record.nom,
            "nom_usage": record.nom_usage,
            "prenom": record.prenom,
            "date_naissance": record.date_naissance.isoformat(),
            "responsables": [
                {
                    "responsable_id": link.responsable_id,
                    "code_parente": link.code_parente,
                }
                for link in links
            ],
        }
    )
    return Payload.of(
        record.eleve_id, payload, tuple(link.responsable_id for link in links)
    )


def responsable_payload(
    record: ResponsableRecord, academie: str, source: str
) -> Payload:
    """Return the payload of the responsable's ``ResponsableImported`` event."""
    payload = _encode(
        {
            "academie": academie,
            "type": "responsable.imported",
            "responsable_id": record.responsable_id,
            "source": source,
            "civilite": record.civilite,
            "nom": record.nom,
            "prenom": record.prenom,
            "email": record.email,
            "telephone_portable": record.telephone_portable,
        }
    )
    return Payload.of(record.responsable_id, payload)
