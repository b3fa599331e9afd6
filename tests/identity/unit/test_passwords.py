import uuid

from services.identity.accounts import identifiant_base
from services.identity.passwords import (
    NOTICE_PASSWORD_LENGTH,
    check_provisional_password,
    hash_password,
    provisional_password,
    verify_password,
)


def test_password_hash_is_argon2id():
    password_hash = hash_password("une phrase assez longue")

    assert password_hash.startswith("$argon2id$")
    assert verify_password(password_hash, "une phrase assez longue")
    assert not verify_password(password_hash, "une autre phrase")


def test_missing_hash_never_verifies():
    assert not verify_password(None, "anything at all")


def test_provisional_password_is_stable_per_account():
    account_id = uuid.uuid4()

    first = provisional_password("secret-secret-secret", account_id)

    assert first == provisional_password("secret-secret-secret", account_id)
    assert len(first) == NOTICE_PASSWORD_LENGTH
    assert first != provisional_password("secret-secret-secret", uuid.uuid4())
    assert first != provisional_password("other-other-other-1", account_id)


def test_provisional_password_check_ignores_case_and_blanks():
    account_id = uuid.uuid4()
    password = provisional_password("secret-secret-secret", account_id)

    assert check_provisional_password(
        "secret-secret-secret", account_id, f" {password.upper()} "
    )
    assert not check_provisional_password("secret-secret-secret", account_id, "x")


def test_identifiant_base_is_plain_ascii():
    assert identifiant_base("Aïssatou", "N'DIAYE") == "a.ndiaye"
    assert identifiant_base("Éloïse", "DE LA FONTAINE-ROCHE") == "e.delafontaineroche"
