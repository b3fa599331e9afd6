"""Events that describe one school's export, and the payload digest that
shows whether an event changed since it was last published."""

import hashlib

from pydantic import BaseModel

from services.importer.records import SchoolExport
from shared.contracts.events import EleveImported, EleveLink, ResponsableImported


def responsable_events(
    export: SchoolExport, academie: str
) -> dict[str, ResponsableImported]:
    """Return a ``ResponsableImported`` per responsable of the export, by id."""
    return {
        record.responsable_id: ResponsableImported(
            academie=academie,
            responsable_id=record.responsable_id,
            source=export.source,
            civilite=record.civilite,
            nom=record.nom,
            prenom=record.prenom,
            email=record.email,
            telephone_portable=record.telephone_portable,
        )
        for record in export.responsables
    }


def eleve_events(export: SchoolExport, academie: str) -> dict[str, EleveImported]:
    """Return an ``EleveImported`` per enrolled pupil of the export, by id.

    Links are sorted by responsable id, so that a source listing them in
    another order does not count as a change.
    """
    return {
        record.eleve_id: EleveImported(
            academie=academie,
            eleve_id=record.eleve_id,
            ine=record.ine,
            source=export.source,
            source_eleve_id=record.source_eleve_id,
            uai=export.uai,
            classe=record.classe,
            nom=record.nom,
            nom_usage=record.nom_usage,
            prenom=record.prenom,
            date_naissance=record.date_naissance,
            responsables=tuple(
                EleveLink(
                    responsable_id=link.responsable_id,
                    code_parente=link.code_parente,
                )
                for link in sorted(
                    record.responsables, key=lambda link: link.responsable_id
                )
            ),
        )
        for record in export.eleves
    }


def payload_digest(event: BaseModel) -> str:
    """Return the SHA-256 hex digest of the event's JSON payload."""
    return hashlib.sha256(event.model_dump_json().encode("utf-8")).hexdigest()
