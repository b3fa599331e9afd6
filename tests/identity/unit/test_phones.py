import pytest

from services.identity.phones import is_mobile_key, phone_key, stored_forms


@pytest.mark.parametrize(
    "typed",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33612345678",
        "0033 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "33612345678",
    ],
)
def test_phone_key_gives_national_digits(typed):
    assert phone_key(typed) == "0612345678"


@pytest.mark.parametrize("typed", [None, "", "  ", "pas de numéro"])
def test_phone_key_is_none_without_digits(typed):
    assert phone_key(typed) is None


@pytest.mark.parametrize(
    "key, mobile",
    [
        ("0612345678", True),
        ("0712345678", True),
        ("0112345678", False),
        ("061234567", False),
        ("06123456789", False),
        (None, False),
    ],
)
def test_is_mobile_key(key, mobile):
    assert is_mobile_key(key) is mobile


def test_stored_forms_cover_international_prefixes():
    assert stored_forms("0612345678") == [
        "0612345678",
        "33612345678",
        "0033612345678",
    ]
