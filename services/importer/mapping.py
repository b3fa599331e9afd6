"""Payloads of the events that describe one school's export, and the
digest that shows whether a payload changed since it was last published.

Most records of a weekly export are unchanged, so payloads are written
straight from the records, without building the pydantic events: the JSON is
byte for byte what ``EleveImported`` or ``ResponsableImported`` gives with
``model_dump_json`` (``tests/importer/unit/test_payloads.py`` checks it).
The outbox stores it as the event's payload, and its SHA-256 is the digest
kept in the snapshot. The parsers have already checked every value the
events' models check, and upper-cased INE and UAI as the models do.
"""

import hashlib
from typing import NamedTuple

from services.importer.records import EleveRecord, ResponsableRecord
from shared.contracts.json_text import json_string as _json


class Payload(NamedTuple):
    """The JSON payload of an ``EleveImported`` or ``ResponsableImported``
    event, with its digest; ``links`` contains a pupil's responsable ids,
    sorted.

    A tuple rather than a dataclass: a first import builds millions of
    them, in the reader workers and again in the run's process (see
    ``ExportComparison.__reduce__``), and a tuple takes half the time to
    build."""

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
    responsables = ",".join(
        f'{{"responsable_id":{_json(link.responsable_id)},'
        f'"code_parente":{_json(link.code_parente)}}}'
        for link in links
    )
    payload = (
        f'{{"academie":{_json(academie)},"type":"eleve.imported",'
        f'"eleve_id":{_json(record.eleve_id)},"ine":{_json(record.ine)},'
        f'"source":{_json(source)},'
        f'"source_eleve_id":{_json(record.source_eleve_id)},'
        f'"uai":{_json(uai)},"classe":{_json(record.classe)},'
        f'"nom":{_json(record.nom)},"nom_usage":{_json(record.nom_usage)},'
        f'"prenom":{_json(record.prenom)},'
        f'"date_naissance":"{record.date_naissance.isoformat()}",'
        f'"responsables":[{responsables}]}}'
    )
    return Payload.of(
        record.eleve_id, payload, tuple(link.responsable_id for link in links)
    )


def responsable_payload(
    record: ResponsableRecord, academie: str, source: str
) -> Payload:
    """Return the payload of the responsable's ``ResponsableImported`` event."""
    payload = (
        f'{{"academie":{_json(academie)},"type":"responsable.imported",'
        f'"responsable_id":{_json(record.responsable_id)},'
        f'"source":{_json(source)},"civilite":{_json(record.civilite)},'
        f'"nom":{_json(record.nom)},"prenom":{_json(record.prenom)},'
        f'"email":{_json(record.email)},'
        f'"telephone_portable":{_json(record.telephone_portable)}}}'
    )
    return Payload.of(record.responsable_id, payload)
