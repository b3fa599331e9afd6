"""Locking after wrong passwords: the account is locked with a French message
that points to « Mot de passe oublié ? », an unknown identifiant gets the same
message, and a disabled account cannot log in."""

from datetime import UTC, datetime

import pytest

from services.identity.web import ACCOUNT_DISABLED
from tests.e2e.pages import log_in, text_of
from tests.e2e.test_password_reset import (
    PASSWORD,
    account_row,
    execute,
    forget_address_failures,  # noqa: F401 (an autouse fixture of this module too)
    make_account,
    unique_email,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WRONG = "pas le bon mot de passe"
LOCKED = "votre compte est donc verrouillé"


async def test_wrong_passwords_lock_account(sample_system, new_client):
    account = await make_account(sample_system, email=unique_email())
    client = new_client()

    for _ in range(5):
        assert log_in(client, account["identifiant"], WRONG).status_code == 401
    locked = log_in(client, account["identifiant"], PASSWORD)

    assert locked.status_code == 429
    assert LOCKED in text_of(locked)
    assert "réessayez dans 2 minutes" in text_of(locked)
    assert "« Mot de passe oublié ? »" in text_of(locked)
    assert 'href="/mot-de-passe-oublie"' in locked.text
    row = await account_row(sample_system, account["account_id"])
    assert row["locked_until"] > datetime.now(UTC)


async def test_unknown_identifiant_gets_same_lock(sample_system, new_client):
    account = await make_account(sample_system, email=unique_email())
    unknown = "personne.verrouillee"
    client = new_client()

    for typed in (unknown, account["identifiant"]):
        for _ in range(5):
            assert log_in(client, typed, WRONG).status_code == 401
    unknown_answer = log_in(client, unknown, WRONG)
    known_answer = log_in(client, account["identifiant"], WRONG)

    assert unknown_answer.status_code == known_answer.status_code == 429
    assert LOCKED in text_of(unknown_answer)
    assert text_of(unknown_answer).replace(unknown, "X") == text_of(
        known_answer
    ).replace(account["identifiant"], "X")


async def test_lock_by_email_holds_identifiant_login(sample_system, new_client):
    email = unique_email()
    account = await make_account(sample_system, email=email)
    client = new_client()

    for _ in range(5):
        assert log_in(client, email.upper(), WRONG).status_code == 401
    by_identifiant = log_in(client, account["identifiant"], PASSWORD)
    wrong_by_identifiant = log_in(client, account["identifiant"], WRONG)

    assert by_identifiant.status_code == 429
    assert LOCKED in text_of(by_identifiant)
    assert by_identifiant.url.path == "/connexion"
    # The lock message shows whatever password is typed, so that the other
    # login does not tell a right guess from a wrong one.
    assert wrong_by_identifiant.status_code == 429
    assert text_of(wrong_by_identifiant) == text_of(by_identifiant)


async def test_spellings_of_one_address_share_their_count(sample_system, new_client):
    email = unique_email("claire.strasse")
    await make_account(sample_system, email=email)
    client = new_client()

    for _ in range(5):
        assert log_in(client, email, WRONG).status_code == 401
    # « ß » and « ſ » find the same account as « ss » and « s ».
    sharp_s = log_in(client, email.replace("ss", "ß"), WRONG)
    long_s = log_in(client, email.replace("strasse", "ſtrasse"), PASSWORD)

    assert sharp_s.status_code == 429
    assert LOCKED in text_of(sharp_s)
    assert long_s.status_code == 429
    assert LOCKED in text_of(long_s)


async def test_lock_ends_when_it_expires(sample_system, new_client):
    account = await make_account(sample_system, email=unique_email())
    await execute(
        sample_system,
        "UPDATE identity.accounts SET locked_until = now() - interval '1 second'"
        " WHERE account_id = $1",
        account["account_id"],
    )

    answer = log_in(new_client(), account["identifiant"], PASSWORD)

    assert answer.url.path == "/portail"


async def test_disabled_account_cannot_log_in(sample_system, new_client):
    account = await make_account(sample_system, email=unique_email())
    await execute(
        sample_system,
        "UPDATE identity.accounts SET disabled_at = now() WHERE account_id = $1",
        account["account_id"],
    )
    client = new_client()

    right = log_in(client, account["identifiant"], PASSWORD)
    wrong = log_in(client, account["identifiant"], WRONG)

    assert right.status_code == 403
    assert right.url.path == "/connexion"
    assert ACCOUNT_DISABLED in text_of(right)
    assert client.get("/mon-compte").url.path == "/connexion"
    assert wrong.status_code == 401
    assert ACCOUNT_DISABLED not in text_of(wrong)
