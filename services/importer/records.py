"""Typed records read from one school's export, before they become events.

Parsers fill them with the ids the events will carry (see ``siecle`` and
``onde`` for how each source's ids are made), so that mapping them to events
needs no knowledge of the source format.
"""

from dataclasses import dataclass
from datetime import date

from shared.contracts.events import Source


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """A legal representative of a pupil; other kinds of responsable are not
    kept."""

    responsable_id: str
    code_parente: str | None = None


@dataclass(frozen=True, slots=True)
class EleveRecord:
    """An enrolled pupil with the legal representatives the source gives."""

    eleve_id: str
    ine: str | None
    source_eleve_id: str | None
    nom: str
    nom_usage: str | None
    prenom: str
    date_naissance: date
    classe: str
    classe_id: str | None = None
    responsables: tuple[LinkRecord, ...] = ()
    # Line of the pupil in an ONDE eleves.csv; SIECLE names it by
    # ``source_eleve_id``.
    line: int | None = None

    def with_links(
        self, responsables: tuple[LinkRecord, ...], classe: str | None = None
    ) -> "EleveRecord":
        """Return the record with ``responsables`` and, when given, ``classe``.

        Parsers call it once per pupil: passing the fields by position takes
        a third of the time of ``dataclasses.replace``, which looks each one up
        by name (``tests/importer/unit/test_records.py`` checks the order).
        """
        return EleveRecord(
            self.eleve_id,
            self.ine,
            self.source_eleve_id,
            self.nom,
            self.nom_usage,
            self.prenom,
            self.date_naissance,
            self.classe if classe is None else classe,
            self.classe_id,
            responsables,
            self.line,
        )


@dataclass(frozen=True, slots=True)
class ResponsableRecord:
    """An adult who is the legal representative of at least one enrolled pupil
    of the export."""

    responsable_id: str
    civilite: str
    nom: str
    prenom: str
    email: str | None = None
    telephone_portable: str | None = None


@dataclass(frozen=True, slots=True)
class SchoolExport:
    """The content of one school's export, validated whole."""

    source: Source
    uai: str
    eleves: tuple[EleveRecord, ...]
    responsables: tuple[ResponsableRecord, ...]
    # Ids of the pupils the export lists with an exit date already passed:
    # a delta removes them, a full export removes them by leaving them out.
    left_eleve_ids: tuple[str, ...] = ()
