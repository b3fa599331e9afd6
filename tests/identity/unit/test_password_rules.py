import pytest

from services.identity.forms import MESSAGES, new_password_errors
from services.identity.passwords import (
    STRENGTH_LABELS,
    estimate_strength,
    password_problem,
)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("court", "password_short"),
        ("x" * 129, "password_long"),
        ("qwerty123456", "password_common"),
        ("QWERTY123456", "password_common"),
        ("leavemealone", "password_common"),
        ("aaaaaaaaaaaa", "password_weak"),
        ("azertyuiop12", "password_weak"),
        ("une longue phrase de passe", None),
        ("tortue vélo nuage 42", None),
    ],
)
def test_password_problem(password, problem):
    assert password_problem(password) == problem


def test_password_without_any_digit_or_capital_is_accepted():
    assert password_problem("cheval pile agrafe correcte") is None


def test_password_built_on_the_name_is_weaker():
    alone = estimate_strength("ndiayeaissatou")
    with_name = estimate_strength("ndiayeaissatou", ["Aïssatou", "N'DIAYE"])

    assert with_name.score < alone.score


@pytest.mark.parametrize(
    ("password", "label"),
    [
        ("aaaaaaaaaaaa", "Très faible"),
        ("une longue phrase de passe", "Très fort"),
    ],
)
def test_strength_labels_are_french(password, label):
    assert estimate_strength(password).label == label


def test_every_score_has_a_label():
    assert STRENGTH_LABELS == ("Très faible", "Faible", "Moyen", "Fort", "Très fort")


def test_weak_password_message_tells_the_strength():
    errors = new_password_errors("aaaaaaaaaaaa", "aaaaaaaaaaaa", [])

    assert errors["password"].startswith(MESSAGES["password_weak"])
    assert "Force estimée : Très faible." in errors["password"]


def test_mismatched_confirmation_is_reported_on_its_field():
    errors = new_password_errors(
        "une longue phrase de passe", "une longue phrase de pass", []
    )

    assert errors == {"password_confirmation": MESSAGES["password_mismatch"]}


@pytest.mark.parametrize("length", [72, 73, 100, 128])
def test_password_longer_than_zxcvbn_accepts_is_judged(length):
    password = ("tortue vélo nuage quarante-deux " * 5)[:length]

    assert password_problem(password) is None
    assert estimate_strength(password).label in STRENGTH_LABELS


def test_long_password_is_judged_on_its_beginning():
    weak_start = "a" * 72 + "tortue vélo nuage 42"

    assert password_problem(weak_start) == "password_weak"
