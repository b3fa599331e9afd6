import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.names import email_key, name_key, phone_key
from shared.types import validate_ine, validate_uai


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Hélène Éluard-N'Diaye", "HELENE ELUARD N DIAYE"),
        ("CŒUR", "coeur"),
        ("D'AMBROSIO DE LA FONTAINE-ROCHE", "d ambrosio de la fontaine roche"),
        ("Lætitia", "laetitia"),
        ("N’DIAYE", "n'diaye"),
    ],
)
def test_name_key_ignores_accents_case_and_separators(left, right):
    assert name_key(left) == name_key(right)


@given(st.text(st.characters(max_codepoint=127)))
def test_ascii_name_key_equals_decomposed_key(name):
    # A lone combining accent makes the text non-ASCII and is then dropped,
    # so the right-hand side goes through the decomposition.
    assert name_key(name) == name_key(name + "\u0301")


def test_name_key_keeps_different_names_apart():
    assert name_key("Martin") != name_key("Martine")


def test_blank_email_and_phone_have_no_key():
    assert email_key("  ") is None
    assert email_key(None) is None
    assert phone_key("") is None
    assert phone_key(None) is None


def test_email_key_ignores_case():
    assert email_key("Marie.Dupont@Exemple.fr") == email_key("marie.dupont@exemple.fr")


def test_phone_key_reads_international_form():
    assert phone_key("+33 6 12 34 56 78") == phone_key("06.12.34.56.78")


def test_uai_shape_is_checked():
    assert validate_uai("0999101e") == "0999101E"
    with pytest.raises(ValueError, match="invalid UAI"):
        validate_uai("099910E")


def test_ine_shape_is_checked():
    assert validate_ine("9900000001w") == "9900000001W"
    with pytest.raises(ValueError, match="invalid INE"):
        validate_ine("99000000")
