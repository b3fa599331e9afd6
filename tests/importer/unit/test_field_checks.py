"""Text fields of both formats: too long, containing a control character, or
double-encoded behind a byte order mark."""

import codecs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.importer.errors import ImportFileRejected
from services.importer.onde import MAX_LINE_BYTES, read_onde_school
from services.importer.siecle import read_siecle_school
from services.importer.values import check_text, find_double_encoding, texts_pass

from ..factories import (
    DEFAULT_CHILD,
    ONDE_ELEVES_HEADER,
    eleve,
    eleves_xml,
    onde_eleve_row,
    onde_responsable_row,
    personne,
    responsables_xml,
    write_onde,
    write_siecle,
)

UAI = "0999201N"


def siecle_rejection(tmp_path, **files) -> ImportFileRejected:
    with pytest.raises(ImportFileRejected) as caught:
        read_siecle_school(*write_siecle(tmp_path, **files))
    return caught.value


def onde_rejection(tmp_path, **files) -> ImportFileRejected:
    with pytest.raises(ImportFileRejected) as caught:
        read_onde_school(*write_onde(tmp_path, **files), uai=UAI)
    return caught.value


def test_siecle_long_first_name_rejected(tmp_path):
    pupils = eleve("4300001", "9900000001W", prenom="A" * 101) + eleve(
        "4300002", "9900000002E"
    )

    error = siecle_rejection(tmp_path, eleves=eleves_xml(pupils=pupils))

    assert error.file.endswith("ElevesSansAdresses.xml")
    assert error.location == "element ELEVE ELEVE_ID='4300001', child PRENOM"
    assert "PRENOM is 101 characters long, more than the 100 allowed" in error.reason
    assert "AAAA" not in str(error)


def test_siecle_100_character_name_read(tmp_path):
    pupils = eleve("4300001", "9900000001W", prenom="A" * 100) + eleve(
        "4300002", "9900000002E"
    )

    export = read_siecle_school(
        *write_siecle(tmp_path, eleves=eleves_xml(pupils=pupils))
    )

    assert export.eleves[0].prenom == "A" * 100


def test_siecle_long_email_rejected(tmp_path):
    email = "a" * 250 + "@example.org"
    personnes = personne("7100001", email=email)

    error = siecle_rejection(tmp_path, responsables=responsables_xml(personnes))

    assert error.location == "element PERSONNE PERSONNE_ID='7100001', child MEL"
    assert "MEL is 262 characters long, more than the 254 allowed" in error.reason


def test_siecle_long_id_left_out(tmp_path):
    pupils = eleve("4" * 40, "9900000001W")

    error = siecle_rejection(tmp_path, eleves=eleves_xml(pupils=pupils))

    assert error.location == "element ELEVE"
    assert "attribute ELEVE_ID is 40 characters long" in error.reason


def test_siecle_control_character_rejected(tmp_path):
    # XML 1.0 forbids NUL, but ISO-8859-15 byte 0x85 decodes to the C1
    # control character NEL, which XML allows.
    document = eleves_xml().replace("MOREL", "MO\x85REL", 1)

    error = siecle_rejection(tmp_path, eleves=document.encode("latin-1"))

    assert error.location == ("element ELEVE ELEVE_ID='4300001', child NOM_DE_FAMILLE")
    assert "control character U+0085 at position 3" in error.reason


def test_onde_long_field_rejected(tmp_path):
    eleves = onde_eleve_row() + "\n" + onde_eleve_row(prenom="B" * 101) + "\n"

    error = onde_rejection(tmp_path, eleves=eleves)

    assert error.file.endswith("eleves.csv")
    assert error.location == "line 3"
    assert "column 'Prénom élève' is 101 characters long" in error.reason


def test_onde_csv_field_limit_rejected(tmp_path):
    # A quoted field spread over many short lines reaches the csv module's
    # field size limit (131,072) without any line being too long.
    huge = '"' + "x\n" * 70_000 + '"'
    eleves = onde_eleve_row() + "\n" + onde_eleve_row(prenom=huge) + "\n"

    error = onde_rejection(tmp_path, eleves=eleves)

    assert error.location.startswith("line ")
    assert "unreadable CSV: field larger than field limit" in error.reason


def test_onde_long_line_rejected(tmp_path):
    row = onde_eleve_row(prenom="C" * MAX_LINE_BYTES)
    eleves = f"{ONDE_ELEVES_HEADER}\n{onde_eleve_row()}\n{row}\n".encode("cp1252")

    error = onde_rejection(tmp_path, eleves=eleves)

    assert error.location == "line 3"
    assert f"line longer than {MAX_LINE_BYTES} bytes" in error.reason


def test_onde_nul_in_email_rejected(tmp_path):
    row = onde_responsable_row(DEFAULT_CHILD, email="nadia\x00@example.org")

    error = onde_rejection(tmp_path, responsables=row + "\n")

    assert error.file.endswith("responsables.csv")
    assert error.location == "line 2"
    assert "column 'Courriel' contains the control character U+0000" in error.reason


def test_onde_tab_in_field_read(tmp_path):
    row = onde_eleve_row(classe="CE2\tM. Imaginaire")
    responsables = onde_responsable_row(("BENALI", "Inès", "CE2\tM. Imaginaire"))

    export = read_onde_school(
        *write_onde(tmp_path, row + "\n", responsables + "\n"), uai=UAI
    )

    assert export.eleves[0].classe == "CE2\tM. Imaginaire"


def test_onde_double_encoded_bom_message(tmp_path):
    mangled = "Hélène".encode().decode("cp1252")
    text = f"{ONDE_ELEVES_HEADER}\n{onde_eleve_row(prenom=mangled)}\n"

    error = onde_rejection(tmp_path, eleves=codecs.BOM_UTF8 + text.encode())

    assert error.location == "line 2"
    assert "starts with a UTF-8 byte order mark" in error.reason
    assert "without a byte order mark" not in error.reason


@pytest.mark.parametrize(
    ("values", "max_lengths"),
    [
        (["Dupont", "Zoé", "a\tb"], [100, 100, 100]),
        # A lead letter ending one value and a continuation starting the next
        # are no pair: each value alone is fine.
        (["Ã", "©té"], [10, 10]),
        (["Dupont", "x" * 100], ()),
    ],
)
def test_texts_pass_fine_values(values, max_lengths):
    assert texts_pass(values, max_lengths)


@pytest.mark.parametrize(
    ("values", "max_lengths"),
    [
        (["Dupont", "Zo\x1fé"], [100, 100]),
        (["Dupont", "ZoÃ©"], [100, 100]),
        (["Dupont", "Zoé"], [100, 2]),
        (["a\x00"], ()),
        (["Dupont", "Zoe\x1f"], ()),
        (["Dupont\x7f"], ()),
    ],
)
def test_texts_pass_doubtful_values_fail(values, max_lengths):
    assert not texts_pass(values, max_lengths)


@given(st.lists(st.text(alphabet=st.sampled_from("aZ -'\t\x00\x1f\x7f\x85Ã©éÂ\u00a0"))))
def test_texts_pass_is_each_value_checked_alone(values):
    assert texts_pass(values) == all(map(passes_alone, values))


def passes_alone(value: str) -> bool:
    try:
        check_text(value, "field", len(value))
    except ValueError:
        return False
    return find_double_encoding(value) is None


def test_siecle_control_character_in_later_record_named(tmp_path):
    document = responsables_xml(
        personne("7100001") + personne("7100002", nom="BER\x85NARD")
    )

    error = siecle_rejection(tmp_path, responsables=document.encode("latin-1"))

    assert "PERSONNE_ID='7100002'" in error.location
    assert "control character U+0085 at position 4" in error.reason
