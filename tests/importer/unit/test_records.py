"""The records that parsers fill."""

from dataclasses import fields, replace
from datetime import date

from services.importer.records import EleveRecord, LinkRecord


def test_with_links_keeps_other_fields() -> None:
    # Every field has a value of its own (checked last), so that two
    # fields passed in each other's place would show.
    record = EleveRecord(
        eleve_id="siecle:50001",
        ine="1234567890A",
        source_eleve_id="50001",
        nom="Éluard-N'Diaye",
        nom_usage="Éluard",
        prenom="Hélène",
        date_naissance=date(2012, 4, 3),
        classe="6E A",
        classe_id="C-6A",
        line=7,
    )
    links = (LinkRecord("siecle:200001", "10"), LinkRecord("siecle:200002"))

    placed = record.with_links(links, "5E B")
    unplaced = record.with_links(links)

    assert placed == replace(record, responsables=links, classe="5E B")
    assert unplaced == replace(record, responsables=links)
    values = [getattr(placed, field.name) for field in fields(placed)]
    assert len(set(values)) == len(values)
