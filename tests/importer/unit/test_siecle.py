import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest

from services.importer.errors import ImportFileRejected
from services.importer.records import SchoolExport
from services.importer.siecle import read_siecle_school

from ..factories import (
    eleve,
    eleves_xml,
    link,
    personne,
    responsables_xml,
    structure,
    write_siecle,
)
from ..samples import SIECLE_SCHOOLS, WEEKS, school_folder, truth, truth_pupils

SAMPLE_CASES = [(week, uai) for week in WEEKS for uai in SIECLE_SCHOOLS]


def read_sample(week: str, uai: str, suffix: str = ".xml") -> SchoolExport:
    folder = school_folder("siecle", week, uai)
    return read_siecle_school(
        folder / f"ElevesSansAdresses{suffix}",
        folder / f"ResponsablesAvecAdresses{suffix}",
        uai=uai,
    )


def truth_date(value: str) -> date:
    day, month, year = value.split("/")
    return date(int(year), int(month), int(day))


@pytest.mark.parametrize(("week", "uai"), SAMPLE_CASES)
def test_sample_pupils_match_truth(week, uai):
    export = read_sample(week, uai)
    expected = {p["ine"]: p for p in truth_pupils(week, uai) if not p["left"]}
    pupils = {pupil.ine: pupil for pupil in export.eleves}

    assert pupils.keys() == expected.keys()
    for ine, pupil in pupils.items():
        want = expected[ine]
        assert pupil.eleve_id == ine
        assert pupil.source_eleve_id == str(want["eleve_id"])
        assert pupil.nom == want["nom"]
        assert (pupil.nom_usage or "") == want["nom_usage"]
        assert pupil.prenom == want["prenom"]
        assert pupil.date_naissance == truth_date(want["birth"])
        assert pupil.classe == want["division_or_class"]


@pytest.mark.parametrize(("week", "uai"), SAMPLE_CASES)
def test_sample_links_are_legal_guardians_only(week, uai):
    export = read_sample(week, uai)
    expected = {
        p["ine"]: {
            (f"siecle:{link['guardian_personne_id']}", link["code_parente"])
            for link in p["links"]
            if link["legal_guardian"]
        }
        for p in truth_pupils(week, uai)
        if not p["left"]
    }

    links = {
        pupil.ine: {
            (link.responsable_id, link.code_parente) for link in pupil.responsables
        }
        for pupil in export.eleves
    }

    assert links == expected


@pytest.mark.parametrize(("week", "uai"), SAMPLE_CASES)
def test_sample_responsables_match_truth(week, uai):
    export = read_sample(week, uai)
    guardians = {f"siecle:{g['personne_id']}": g for g in truth(week)["guardians"]}
    linked = {link.responsable_id for p in export.eleves for link in p.responsables}

    assert {r.responsable_id for r in export.responsables} == linked
    for responsable in export.responsables:
        want = guardians[responsable.responsable_id]
        assert responsable.civilite == want["civ"]
        assert responsable.nom == want["nom"]
        assert responsable.prenom == want["prenom"]
        assert responsable.email == want["email"]


@pytest.mark.parametrize(("week", "uai"), SAMPLE_CASES)
def test_zip_reads_like_xml(week, uai):
    assert read_sample(week, uai, ".zip") == read_sample(week, uai, ".xml")


def test_older_layout_reads_nom_and_resp_legal():
    export = read_sample("week1", "0999102F")
    benali = next(p for p in export.eleves if p.ine == "9900000007Y")

    assert benali.nom == "BENALI"
    assert {link.responsable_id for link in benali.responsables} == {
        "siecle:7100010",
        "siecle:7100011",
    }


def test_current_layout_reads_nom_usage():
    export = read_sample("week1", "0999101E")
    laetitia = next(p for p in export.eleves if p.ine == "9900000003N")

    assert laetitia.nom == "D'AMBROSIO DE LA FONTAINE-ROCHE"
    assert laetitia.nom_usage == "D'AMBROSIO"
    assert laetitia.prenom == "Lætitia"


def test_contacts_and_persons_in_charge_are_not_published():
    export = read_sample("week1", "0999101E")
    ids = {responsable.responsable_id for responsable in export.responsables}

    assert "siecle:7100007" not in ids  # grandmother, level 3 (contact)
    assert "siecle:7100017" not in ids  # child-welfare referent, level 2


def test_iso_8859_15_oe_ligature_decodes(tmp_path):
    # The sample's CŒUR is a contact, so she is made a legal guardian here.
    folder = school_folder("siecle", "week1", "0999101E")
    source = (folder / "ResponsablesAvecAdresses.xml").read_bytes()
    promoted = re.sub(
        rb"(<PERSONNE_ID>7100007</PERSONNE_ID>\s*<NIVEAU_RESPONSABILITE>)3",
        rb"\g<1>1",
        source,
    )
    assert b"C\xbcUR" in promoted
    shutil.copy(folder / "ElevesSansAdresses.xml", tmp_path)
    (tmp_path / "ResponsablesAvecAdresses.xml").write_bytes(promoted)

    export = read_siecle_school(
        tmp_path / "ElevesSansAdresses.xml", tmp_path / "ResponsablesAvecAdresses.xml"
    )
    coeur = next(r for r in export.responsables if r.responsable_id == "siecle:7100007")

    assert coeur.nom == "CŒUR"
    assert coeur.email is None


def test_pupil_leaving_on_export_date_is_not_enrolled(tmp_path):
    pupils = eleve("4300001", "9900000001W", date_sortie="12/01/2026") + eleve(
        "4300002", "9900000002E", date_sortie="13/01/2026"
    )
    paths = write_siecle(tmp_path, eleves=eleves_xml(pupils=pupils))

    export = read_siecle_school(*paths)

    assert [pupil.source_eleve_id for pupil in export.eleves] == ["4300002"]


def test_sample_pupil_with_date_sortie_is_skipped():
    export = read_sample("week2", "0999101E")

    assert "9900000016H" not in {pupil.ine for pupil in export.eleves}


def test_pupil_without_ine_gets_siecle_id(tmp_path):
    paths = write_siecle(
        tmp_path,
        eleves=eleves_xml(
            pupils=eleve("4300001", "") + eleve("4300002", "9900000002E")
        ),
    )

    export = read_siecle_school(*paths)

    assert export.eleves[0].eleve_id == "siecle:4300001"
    assert export.eleves[0].ine is None


def rejection(tmp_path: Path, **files) -> ImportFileRejected:
    paths = write_siecle(tmp_path, **files)
    with pytest.raises(ImportFileRejected) as caught:
        read_siecle_school(*paths, uai="0999101E")
    return caught.value


def test_broken_xml_is_rejected_with_line(tmp_path):
    broken = eleves_xml().replace("</PRENOM>", "</PRENOMS>", 1)

    error = rejection(tmp_path, eleves=broken)

    assert error.file.endswith("ElevesSansAdresses.xml")
    assert re.fullmatch(r"line \d+, column \d+", error.location)
    assert "mismatched tag" in error.reason


def test_truncated_xml_is_rejected(tmp_path):
    sample = school_folder("siecle", "week1", "0999101E") / "ElevesSansAdresses.xml"
    data = sample.read_bytes()

    error = rejection(tmp_path, eleves=data[: len(data) // 2])

    assert error.location.startswith("line ")
    assert "broken XML" in error.reason


def test_impossible_date_is_rejected_with_pupil_id(tmp_path):
    pupils = eleve("4300001", "9900000001W", date_naissance="31/02/2012")

    error = rejection(tmp_path, eleves=eleves_xml(pupils=pupils))

    assert error.location == "element ELEVE ELEVE_ID='4300001'"
    assert "date impossible « 31/02/2012 »" in error.reason
    assert "format attendu JJ/MM/AAAA" in error.reason
    assert "DATE_NAISS" in error.reason


def test_duplicate_eleve_id_is_rejected(tmp_path):
    pupils = eleve("4300001", "9900000001W") + eleve("4300001", "9900000002E")

    error = rejection(tmp_path, eleves=eleves_xml(pupils=pupils))

    assert error.location == "element ELEVE ELEVE_ID='4300001'"
    assert error.reason == "duplicate ELEVE_ID"


def test_duplicate_ine_is_rejected(tmp_path):
    pupils = eleve("4300001", "9900000001W") + eleve("4300002", "9900000001W")

    error = rejection(tmp_path, eleves=eleves_xml(pupils=pupils))

    assert error.location == "element ELEVE ELEVE_ID='4300002'"
    assert error.reason == (
        "duplicate INE: ELEVE_ID '4300001' and '4300002' have the same INE"
    )
    assert "9900000001W" not in str(error)


def test_same_ine_different_names_names_both_pupils(tmp_path):
    pupils = eleve("4300001", "9900000001W") + eleve(
        "4300002", "9900000001W", prenom="Adam"
    )

    error = rejection(tmp_path, eleves=eleves_xml(pupils=pupils))

    assert "duplicate INE with different names" in error.reason
    assert "ELEVE_ID '4300001' and '4300002'" in error.reason
    assert "Adam" not in str(error)


def test_double_encoded_text_is_rejected(tmp_path):
    mangled = "Hélène".encode().decode("iso-8859-15")
    pupils = eleve("4300001", "9900000001W") + eleve(
        "4300002", "9900000002E", prenom=mangled
    )

    error = rejection(tmp_path, eleves=eleves_xml(pupils=pupils))

    assert error.location == "element ELEVE ELEVE_ID='4300002', child PRENOM"
    assert "double-encoded ('Ã©'" in error.reason


def test_utf8_declared_as_iso_8859_15_is_rejected(tmp_path):
    data = eleves_xml(pupils=eleve("4300001", "9900000001W", prenom="Hélène"))

    error = rejection(tmp_path, eleves=data.encode("utf-8"))

    assert error.location == "element ELEVE ELEVE_ID='4300001', child PRENOM"
    assert "double-encoded" in error.reason


def test_iso_8859_15_and_utf8_give_identical_names(tmp_path):
    pupils = eleve("4300001", "9900000001W", nom="ÉLUARD-N'DIAYE", prenom="Hélène")
    structures = structure("4300001", "5A")
    links = link("4300001", "7100001")
    personnes = personne("7100001", nom="ÉLUARD-N'DIAYE", prenom="Hélène")
    latin = eleves_xml(pupils, structures), responsables_xml(personnes, links)
    utf8 = [
        text.replace('encoding="ISO-8859-15"', 'encoding="UTF-8"').encode()
        for text in latin
    ]

    from_latin = read_siecle_school(*write_siecle(tmp_path / "latin", *latin))
    from_utf8 = read_siecle_school(*write_siecle(tmp_path / "utf8", *utf8))

    assert from_latin.eleves[0].prenom == "Hélène"
    assert from_latin.responsables[0].nom == "ÉLUARD-N'DIAYE"
    assert from_utf8 == from_latin


def test_empty_file_is_rejected(tmp_path):
    error = rejection(tmp_path, eleves=b"")

    assert error.location == "line 1, column 0"
    assert error.reason == "broken XML: no element found"


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("NIVEAU_RESPONSABILITE", "7"),
        ("CODE_PARENTE", "MERE"),
    ],
)
def test_unknown_link_code_is_rejected(tmp_path, tag, value):
    links = link("4300001", "7100001").replace(
        f"<{tag}>{'1' if tag.startswith('NIVEAU') else '10'}</{tag}>",
        f"<{tag}>{value}</{tag}>",
    )

    error = rejection(tmp_path, responsables=responsables_xml(links=links))

    assert error.location.startswith("element RESPONSABLE_ELEVE ELEVE_ID='4300001'")
    assert f"unknown code {value!r} in {tag}" in error.reason


def test_unknown_civilite_is_rejected(tmp_path):
    personnes = personne("7100001", civilite="DR")

    error = rejection(tmp_path, responsables=responsables_xml(personnes=personnes))

    assert error.location == "element PERSONNE PERSONNE_ID='7100001'"
    assert "unknown code 'DR' in LC_CIVILITE" in error.reason


def test_duplicate_personne_id_is_rejected(tmp_path):
    personnes = personne("7100001") + personne("7100001", prenom="Paul")

    error = rejection(tmp_path, responsables=responsables_xml(personnes=personnes))

    assert error.location == "element PERSONNE PERSONNE_ID='7100001'"
    assert error.reason == "duplicate PERSONNE_ID"


def test_personne_id_with_blank_is_rejected(tmp_path):
    personnes = personne("7100 001")

    error = rejection(tmp_path, responsables=responsables_xml(personnes=personnes))

    assert error.location == "element PERSONNE PERSONNE_ID='7100 001'"
    assert error.reason.startswith("invalid PERSONNE_ID: it contains a blank")


def test_undecodable_bytes_are_rejected_with_line(tmp_path):
    text = eleves_xml().replace('encoding="ISO-8859-15"', 'encoding="UTF-8"')
    data = text.encode("utf-8").replace("Zoé".encode(), b"Zo\xff", 1)

    line = data[: data.index(b"\xff")].count(b"\n") + 1

    error = rejection(tmp_path, eleves=data)

    assert error.location.startswith(f"line {line},")
    assert "not well-formed" in error.reason


def test_missing_family_name_is_rejected(tmp_path):
    pupils = eleve("4300001", "9900000001W").replace(
        "<NOM_DE_FAMILLE>MOREL</NOM_DE_FAMILLE>", ""
    )

    error = rejection(tmp_path, eleves=eleves_xml(pupils=pupils))

    assert error.location == "element ELEVE ELEVE_ID='4300001'"
    assert "NOM_DE_FAMILLE" in error.reason


def test_link_without_level_is_rejected(tmp_path):
    links = link("4300001", "7100001").replace(
        "<NIVEAU_RESPONSABILITE>1</NIVEAU_RESPONSABILITE>", ""
    )

    error = rejection(tmp_path, responsables=responsables_xml(links=links))

    assert "ELEVE_ID='4300001' PERSONNE_ID='7100001'" in error.location
    assert "NIVEAU_RESPONSABILITE" in error.reason


def test_link_to_unknown_person_is_rejected(tmp_path):
    links = link("4300001", "7100001") + link("4300002", "7199999")

    error = rejection(tmp_path, responsables=responsables_xml(links=links))

    assert "PERSONNE_ID='7199999'" in error.location
    assert "not found" in error.reason


def test_two_divisions_are_rejected(tmp_path):
    structures = structure("4300001", "5A") + structure("4300001", "5B")

    error = rejection(tmp_path, eleves=eleves_xml(structures=structures))

    assert error.location == "element STRUCTURES_ELEVE ELEVE_ID='4300001'"
    assert "several divisions" in error.reason


def test_wrong_root_element_is_rejected(tmp_path):
    error = rejection(tmp_path, eleves=responsables_xml())

    assert error.location == "element BEE_RESPONSABLES"
    assert "expected BEE_ELEVES" in error.reason


def test_uaj_differing_from_folder_is_rejected(tmp_path):
    error = rejection(
        tmp_path,
        eleves=eleves_xml(uaj="0999102F"),
        responsables=responsables_xml(uaj="0999102F"),
    )

    assert error.location == "element PARAMETRES/UAJ"
    assert "'0999101E'" in error.reason


def test_uaj_differing_between_files_is_rejected(tmp_path):
    error = rejection(tmp_path, responsables=responsables_xml(uaj="0999102F"))

    assert error.file.endswith("ResponsablesAvecAdresses.xml")
    assert error.location == "element PARAMETRES/UAJ"


def test_zip_with_two_files_is_rejected(tmp_path):
    eleves_path, responsables_path = write_siecle(tmp_path / "xml")
    archive = tmp_path / "ElevesSansAdresses.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(eleves_path, "ElevesSansAdresses.xml")
        zipped.write(eleves_path, "copy.xml")

    with pytest.raises(ImportFileRejected) as caught:
        read_siecle_school(archive, responsables_path)

    assert caught.value.location == "archive"
    assert "found 2 files" in caught.value.reason


def test_twins_are_two_pupils_with_own_links(tmp_path):
    pupils = eleve("4300001", "9900000001W", prenom="Zoé") + eleve(
        "4300002", "9900000002E", prenom="Léa"
    )
    links = "".join(
        link(eleve_id, personne_id)
        for eleve_id in ("4300001", "4300002")
        for personne_id in ("7100001", "7100002")
    )
    personnes = personne("7100001") + personne(
        "7100002", civilite="M.", prenom="Paul", email=""
    )
    paths = write_siecle(
        tmp_path,
        eleves=eleves_xml(pupils=pupils),
        responsables=responsables_xml(personnes=personnes, links=links),
    )

    export = read_siecle_school(*paths, uai="0999101E")

    assert [pupil.eleve_id for pupil in export.eleves] == ["9900000001W", "9900000002E"]
    assert export.eleves[0].date_naissance == export.eleves[1].date_naissance
    assert len(export.responsables) == 2
    assert export.eleves[0].responsables == export.eleves[1].responsables


def test_records_across_chunks_all_read(tmp_path):
    # Both files span several of the chunks fed to the parser, so records
    # cross chunk boundaries.
    count = 2_000
    ids = [str(4_300_001 + number) for number in range(count)]
    ines = [f"{number:010d}W" for number in range(1, count + 1)]
    pupils = "".join(
        eleve(eleve_id, ine, prenom=f"Zoé{number}")
        for number, (eleve_id, ine) in enumerate(zip(ids, ines, strict=True))
    )
    structures = "".join(
        structure(eleve_id, f"5{number % 7}") for number, eleve_id in enumerate(ids)
    )
    personnes = "".join(personne(f"7{eleve_id}") for eleve_id in ids)
    links = "".join(link(eleve_id, f"7{eleve_id}") for eleve_id in ids)
    paths = write_siecle(
        tmp_path,
        eleves=eleves_xml(pupils=pupils, structures=structures),
        responsables=responsables_xml(personnes=personnes, links=links),
    )

    export = read_siecle_school(*paths, uai="0999101E")

    assert paths[0].stat().st_size > 4 * 64 * 1024
    assert paths[1].stat().st_size > 4 * 64 * 1024
    assert [pupil.eleve_id for pupil in export.eleves] == ines
    assert [pupil.prenom for pupil in export.eleves] == [
        f"Zoé{number}" for number in range(count)
    ]
    assert [pupil.classe for pupil in export.eleves] == [
        f"5{number % 7}" for number in range(count)
    ]
    assert [pupil.responsables[0].responsable_id for pupil in export.eleves] == [
        f"siecle:7{eleve_id}" for eleve_id in ids
    ]
    assert len(export.responsables) == count


def test_wrong_root_is_rejected(tmp_path):
    error = rejection(tmp_path, eleves=responsables_xml())

    assert error.file.endswith("ElevesSansAdresses.xml")
    assert error.location == "element BEE_RESPONSABLES"
    assert error.reason == "unexpected root element: expected BEE_ELEVES"


def test_wrong_root_named_before_broken_xml(tmp_path):
    broken = responsables_xml().replace("</PRENOM>", "</PRENOMS>", 1)

    error = rejection(tmp_path, eleves=broken)

    assert error.location == "element BEE_RESPONSABLES"
    assert error.reason == "unexpected root element: expected BEE_ELEVES"


def test_record_error_named_before_broken_xml(tmp_path):
    pupils = eleve("4300001", "9900000001W", prenom="") + eleve(
        "4300002", "9900000002E"
    )
    broken = eleves_xml(pupils=pupils).replace("</STRUCTURES>", "</STRUCTURESX>")

    error = rejection(tmp_path, eleves=broken)

    assert error.location == "element ELEVE ELEVE_ID='4300001'"
    assert error.reason == "missing or empty PRENOM"


def test_unknown_encoding_is_rejected(tmp_path):
    document = eleves_xml().replace('encoding="ISO-8859-15"', 'encoding="FOO-99"')

    error = rejection(tmp_path, eleves=document)

    assert error.location == "XML declaration"
    assert "FOO-99" in error.reason
