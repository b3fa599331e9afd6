import codecs
from datetime import date

import pytest

from services.importer.errors import ImportFileRejected
from services.importer.onde import onde_responsable_id, read_onde_school
from services.importer.records import LinkRecord, SchoolExport
from shared.names import email_key

from ..factories import (
    DEFAULT_CHILD,
    ONDE_ELEVES_HEADER,
    ONDE_RESPONSABLES_HEADER,
    onde_eleve_row,
    onde_responsable_row,
    write_onde,
)
from ..samples import ONDE_SCHOOLS, WEEKS, school_folder, truth, truth_pupils

SAMPLE_CASES = [(week, uai) for week in WEEKS for uai in ONDE_SCHOOLS]
UAI = "0999201N"


def read_sample(week: str, uai: str) -> SchoolExport:
    folder = school_folder("onde", week, uai)
    return read_onde_school(folder / "eleves.csv", folder / "responsables.csv", uai=uai)


def guardian_label(civilite: str, nom: str, prenom: str) -> str:
    return f"{civilite} {nom} {prenom}"


@pytest.mark.parametrize(("week", "uai"), SAMPLE_CASES)
def test_sample_pupils_match_truth(week, uai):
    export = read_sample(week, uai)
    expected = {p["ine"]: p for p in truth_pupils(week, uai) if not p["left"]}
    pupils = {pupil.ine: pupil for pupil in export.eleves}

    assert pupils.keys() == expected.keys()
    for ine, pupil in pupils.items():
        want = expected[ine]
        day, month, year = want["birth"].split("/")
        assert pupil.eleve_id == ine
        assert pupil.source_eleve_id is None
        assert pupil.nom == want["nom"]
        assert (pupil.nom_usage or "") == want["nom_usage"]
        assert pupil.prenom == want["prenom"]
        assert pupil.date_naissance == date(int(year), int(month), int(day))
        # The truth gives ONDE's class identifier; events carry the label.
        assert pupil.classe_id == want["division_or_class"]


@pytest.mark.parametrize(("week", "uai"), SAMPLE_CASES)
def test_sample_links_match_truth_by_name(week, uai):
    # ONDE has no adult id: the truth's SIECLE PERSONNE_IDs for people known
    # to both sources are out of reach, so guardians are compared by name.
    export = read_sample(week, uai)
    labels = {
        r.responsable_id: guardian_label(r.civilite, r.nom, r.prenom)
        for r in export.responsables
    }
    expected = {
        p["ine"]: {link["guardian"] for link in p["links"] if link["legal_guardian"]}
        for p in truth_pupils(week, uai)
        if not p["left"]
    }

    links = {
        pupil.ine: {labels[link.responsable_id] for link in pupil.responsables}
        for pupil in export.eleves
    }

    assert links == expected


@pytest.mark.parametrize(("week", "uai"), SAMPLE_CASES)
def test_sample_responsables_match_truth_by_name_and_email(week, uai):
    export = read_sample(week, uai)
    known = {
        (g["civ"], g["nom"], g["prenom"], email_key(g["email"]))
        for g in truth(week)["guardians"]
    }

    for responsable in export.responsables:
        key = (
            responsable.civilite,
            responsable.nom,
            responsable.prenom,
            email_key(responsable.email),
        )
        assert key in known
        assert responsable.responsable_id.startswith(f"onde:{uai}:")


def test_sample_homonyms_in_two_schools_get_two_ids():
    first = read_sample("week1", "0999201N")
    second = read_sample("week1", "0999202P")

    def fournier(export):
        return {
            r.responsable_id
            for r in export.responsables
            if (r.nom, r.prenom) == ("FOURNIER", "Jérôme")
        }

    assert len(fournier(first)) == 1
    assert fournier(first).isdisjoint(fournier(second))


def test_sample_ids_are_stable_between_weeks():
    week1 = read_sample("week1", "0999201N")
    week2 = read_sample("week2", "0999201N")

    assert week1 == week2


def test_same_adult_on_two_rows_gets_one_id(tmp_path):
    pupils = (
        onde_eleve_row()
        + "\n"
        + onde_eleve_row(prenom="Adam", ine="9900000009R", classe="CP")
        + "\n"
    )
    rows = (
        onde_responsable_row(DEFAULT_CHILD, email="Nadia.Benali@example.org")
        + "\n"
        + onde_responsable_row(
            ("BENALI", "Adam", "CP"), email="nadia.benali@example.org"
        )
        + "\n"
    )
    paths = write_onde(tmp_path, eleves=pupils, responsables=rows)

    export = read_onde_school(*paths, uai=UAI)

    assert len(export.responsables) == 1
    assert export.eleves[0].responsables == export.eleves[1].responsables


def test_responsable_id_ignores_case_and_accents():
    first = onde_responsable_id(UAI, "MME", "Bénali", "Nadia", email_key("A@X.org"))
    second = onde_responsable_id(UAI, "mme", "BENALI", "NADIA", email_key("a@x.org"))

    assert first == second
    assert len(first.rsplit(":", 1)[1]) == 16


def test_responsable_id_uses_mobile_without_email():
    first = onde_responsable_id(UAI, "M.", "GUÉRIN", "Loïc", "0639980001")
    second = onde_responsable_id(UAI, "M.", "GUÉRIN", "Loïc", "0639980002")

    assert first != second


def test_child_matched_by_normalised_name_and_class(tmp_path):
    rows = onde_responsable_row(("Benali", "INES", "ce2 m. imaginaire")) + "\n"
    paths = write_onde(tmp_path, responsables=rows)

    export = read_onde_school(*paths, uai=UAI)

    assert len(export.eleves[0].responsables) == 1


def test_utf8_file_with_bom_is_read(tmp_path):
    eleves = codecs.BOM_UTF8 + f"{ONDE_ELEVES_HEADER}\n{onde_eleve_row()}\n".encode()
    paths = write_onde(tmp_path, eleves=eleves)

    export = read_onde_school(*paths, uai=UAI)

    assert export.eleves[0].prenom == "Inès"


def test_pupil_without_ine_gets_onde_id(tmp_path):
    paths = write_onde(tmp_path, eleves=onde_eleve_row(ine="") + "\n")

    export = read_onde_school(*paths, uai=UAI)

    assert export.eleves[0].eleve_id.startswith(f"onde:{UAI}:")
    assert export.eleves[0].ine is None


def rejection(tmp_path, **files) -> ImportFileRejected:
    paths = write_onde(tmp_path, **files)
    with pytest.raises(ImportFileRejected) as caught:
        read_onde_school(*paths, uai=UAI)
    return caught.value


def test_impossible_date_is_rejected_with_line(tmp_path):
    error = rejection(tmp_path, eleves=onde_eleve_row(date_naissance="31/02/2012"))

    assert error.file.endswith("eleves.csv")
    assert error.location == "line 2"
    assert error.reason.startswith("ligne 2 : date impossible « 31/02/2012 »")
    assert "format attendu JJ/MM/AAAA" in error.reason


def test_day_comes_before_month(tmp_path):
    paths = write_onde(tmp_path, eleves=onde_eleve_row(date_naissance="03/04/2012"))

    export = read_onde_school(*paths, uai=UAI)

    assert export.eleves[0].date_naissance == date(2012, 4, 3)


def test_missing_column_is_rejected(tmp_path):
    header = ONDE_ELEVES_HEADER.replace(";INE;", ";Numéro;")
    eleves = f"{header}\n{onde_eleve_row()}\n".encode("cp1252")

    error = rejection(tmp_path, eleves=eleves)

    assert error.location == "line 1"
    assert "missing columns ['INE']" in error.reason


def test_utf8_without_bom_is_rejected_with_hint(tmp_path):
    eleves = f"{ONDE_ELEVES_HEADER}\n{onde_eleve_row()}\n".encode()

    error = rejection(tmp_path, eleves=eleves)

    assert error.location == "line 1"
    assert "UTF-8" in error.reason


def test_undecodable_byte_is_rejected_with_line(tmp_path):
    eleves = f"{ONDE_ELEVES_HEADER}\n{onde_eleve_row()}\n".encode("cp1252")
    eleves += (
        onde_eleve_row(ine="9900000009R")
        .encode("cp1252")
        .replace(b"BENALI", b"BEN\x81LI")
    )

    error = rejection(tmp_path, eleves=eleves)

    assert error.location == "line 3"
    assert "0x81" in error.reason


def test_same_ine_different_names_names_both_lines(tmp_path):
    eleves = onde_eleve_row() + "\n" + onde_eleve_row(prenom="Adam") + "\n"

    error = rejection(tmp_path, eleves=eleves)

    assert error.location == "line 3"
    assert "duplicate INE with different names on lines 2 and 3" in error.reason
    assert "9900000008G" not in str(error)
    assert "Adam" not in str(error)


def test_same_pupil_twice_is_rejected(tmp_path):
    eleves = onde_eleve_row() + "\n" + onde_eleve_row(prenom="INES") + "\n"

    error = rejection(tmp_path, eleves=eleves)

    assert error.location == "line 3"
    assert error.reason == "duplicate pupil: lines 2 and 3 have the same INE"


def test_double_encoded_text_is_rejected(tmp_path):
    row = onde_eleve_row(prenom="Hélène".encode().decode("cp1252"), ine="9900000009R")
    eleves = onde_eleve_row() + "\n" + row + "\n"

    error = rejection(tmp_path, eleves=eleves)

    assert error.location == "line 3"
    assert "double-encoded ('Ã©'" in error.reason


def test_mixed_encoding_is_rejected_with_line(tmp_path):
    header = f"{ONDE_ELEVES_HEADER}\n{onde_eleve_row()}\n".encode("cp1252")
    utf8_row = onde_eleve_row(prenom="Hélène", ine="9900000009R").encode()

    error = rejection(tmp_path, eleves=header + utf8_row + b"\n")

    assert error.location == "line 3"
    assert "double-encoded" in error.reason


def test_cp1252_and_utf8_give_identical_names(tmp_path):
    nom, prenom = "ÉLUARD-N'DIAYE", "Hélène"
    eleves = onde_eleve_row(nom=nom, prenom=prenom) + "\n"
    responsables = onde_responsable_row((nom, prenom, DEFAULT_CHILD[2])) + "\n"
    cp1252 = read_onde_school(
        *write_onde(tmp_path / "cp1252", eleves, responsables), uai=UAI
    )
    utf8 = {
        "eleves": codecs.BOM_UTF8 + f"{ONDE_ELEVES_HEADER}\n{eleves}".encode(),
        "responsables": codecs.BOM_UTF8
        + f"{ONDE_RESPONSABLES_HEADER}\n{responsables}".encode(),
    }
    from_utf8 = read_onde_school(*write_onde(tmp_path / "utf8", **utf8), uai=UAI)

    assert cp1252.eleves[0].nom == nom
    assert cp1252.eleves[0].prenom == prenom
    assert from_utf8 == cp1252


def test_unknown_civilite_is_rejected(tmp_path):
    rows = onde_responsable_row(DEFAULT_CHILD, civilite="DR") + "\n"

    error = rejection(tmp_path, responsables=rows)

    assert error.location == "line 2"
    assert "unknown code 'DR' in column 'Civilité Responsable'" in error.reason


def test_wrong_field_count_is_rejected(tmp_path):
    error = rejection(tmp_path, eleves=onde_eleve_row() + ";extra\n")

    assert error.location == "line 2"
    assert "expected 22 fields" in error.reason


def test_unmatched_child_is_rejected_with_line(tmp_path):
    rows = (
        onde_responsable_row(DEFAULT_CHILD)
        + "\n"
        + onde_responsable_row(("BENALI", "Inès", "CM2"), prenom="Karim")
        + "\n"
    )

    error = rejection(tmp_path, responsables=rows)

    assert error.file.endswith("responsables.csv")
    assert error.location == "line 3"
    assert "child 1 matches no pupil" in error.reason
    assert "Inès" not in str(error)


def test_responsables_header_with_missing_column_is_rejected(tmp_path):
    header = ONDE_RESPONSABLES_HEADER.replace("Courriel;", "", 1)
    rows = f"{header}\n{onde_responsable_row(DEFAULT_CHILD)}\n".encode("cp1252")

    error = rejection(tmp_path, responsables=rows)

    assert error.location == "line 1"
    assert "'Courriel'" in error.reason


def test_missing_responsable_name_is_rejected(tmp_path):
    rows = onde_responsable_row(DEFAULT_CHILD, nom="") + "\n"

    error = rejection(tmp_path, responsables=rows)

    assert error.location == "line 2"
    assert "'Nom responsable'" in error.reason


def test_empty_file_is_rejected(tmp_path):
    error = rejection(tmp_path, eleves=b"")

    assert error.location == "line 1"
    assert error.reason == "missing header line"


def test_three_siblings_sharing_email_give_one_responsable(tmp_path):
    siblings = [
        ("Inès", "9900000008G"),
        ("Adam", "9900000009R"),
        ("Lina", "9900000010K"),
    ]
    pupils = "".join(
        onde_eleve_row(prenom=prenom, ine=ine) + "\n" for prenom, ine in siblings
    )
    rows = "".join(
        onde_responsable_row(("BENALI", prenom, DEFAULT_CHILD[2])) + "\n"
        for prenom, _ in siblings
    )
    paths = write_onde(tmp_path, eleves=pupils, responsables=rows)

    export = read_onde_school(*paths, uai=UAI)

    assert len(export.responsables) == 1
    assert len(export.eleves) == 3
    for pupil in export.eleves:
        assert pupil.responsables == (
            LinkRecord(export.responsables[0].responsable_id),
        )


def test_twins_are_two_pupils_with_own_links(tmp_path):
    twins = [("Inès", "9900000008G"), ("Adam", "9900000009R")]
    pupils = "".join(
        onde_eleve_row(prenom=prenom, ine=ine, date_naissance="10/11/2017") + "\n"
        for prenom, ine in twins
    )
    children = [("BENALI", prenom, DEFAULT_CHILD[2]) for prenom, _ in twins]
    rows = (
        onde_responsable_row(*children)
        + "\n"
        + onde_responsable_row(
            *children, civilite="M.", prenom="Karim", email="", mobile=""
        )
        + "\n"
    )
    paths = write_onde(tmp_path, eleves=pupils, responsables=rows)

    export = read_onde_school(*paths, uai=UAI)

    assert [pupil.eleve_id for pupil in export.eleves] == ["9900000008G", "9900000009R"]
    assert len(export.responsables) == 2
    assert export.eleves[0].responsables == export.eleves[1].responsables
    assert len(export.eleves[0].responsables) == 2


def test_blank_contacts_never_merge_adults(tmp_path):
    pupils = (
        onde_eleve_row()
        + "\n"
        + onde_eleve_row(nom="MARTIN", prenom="Léo", ine="9900000009R")
        + "\n"
    )
    # Two fathers named alike, neither with an e-mail nor a phone.
    rows = (
        onde_responsable_row(
            DEFAULT_CHILD,
            civilite="M.",
            nom="MARTIN",
            prenom="Paul",
            email="",
            mobile="",
        )
        + "\n"
        + onde_responsable_row(
            ("MARTIN", "Léo", DEFAULT_CHILD[2]),
            civilite="M.",
            nom="MARTIN",
            prenom="Paul",
            email="",
            mobile="",
        )
        + "\n"
    )
    paths = write_onde(tmp_path, eleves=pupils, responsables=rows)

    export = read_onde_school(*paths, uai=UAI)

    assert len(export.responsables) == 2
    assert export.eleves[0].responsables != export.eleves[1].responsables
