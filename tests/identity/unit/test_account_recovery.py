"""Account recovery without a database: link tokens, the throttle keys and
messages of locks and reset requests, and the e-mail form rules. Also the
public address of the links, and the refusals that follow a right password."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.identity import tokens, web
from services.identity.forms import MESSAGES, new_email_errors
from services.identity.settings import Settings
from services.identity.throttle import (
    MAX_IDENTIFIANT_LENGTH,
    identifiant_key,
    is_plausible_identifiant,
    lock_message,
    reset_address_key,
    reset_target_key,
    reset_wait_message,
)

SETTINGS = {
    "database_url": "postgresql://identity@127.0.0.1:5432/educonnect",
    "kafka_bootstrap_servers": "127.0.0.1:9092",
    "links_url": "http://127.0.0.1:8001",
    "links_token": "jeton-interne-de-test",
    "secret_key": "cle-de-session-de-test",
    "notice_secret": "secret-des-notices-de-test",
    "environment": "test",
}


def test_tokens_are_random_and_stored_hashed():
    first, second = tokens.new_token(), tokens.new_token()

    assert first != second
    assert len(first) == 43
    assert first.replace("-", "").replace("_", "").isalnum()
    assert tokens.token_hash(first) == tokens.token_hash(first)
    assert tokens.token_hash(first) != tokens.token_hash(second)
    assert len(tokens.token_hash(first)) == 32


def test_reset_keys_differ_from_login_keys():
    assert reset_target_key("J.Dupont1") == reset_target_key(" j.dupont1 ")
    assert reset_target_key("j.dupont1") != identifiant_key("j.dupont1")
    assert reset_address_key("127.0.0.1") != reset_target_key("127.0.0.1")


def test_email_address_is_plausible_login():
    longest = "a" * (MAX_IDENTIFIANT_LENGTH - len("@exemple.fr")) + "@exemple.fr"

    assert is_plausible_identifiant("Marie.Dupont@Exemple.fr")
    assert is_plausible_identifiant(longest)
    assert not is_plausible_identifiant(longest + "r")


def test_lock_message_points_to_reset():
    message = lock_message(timedelta(seconds=90))

    assert "votre compte est donc verrouillé" in message
    assert "réessayez dans 2 minutes" in message
    assert "« Mot de passe oublié ? »" in message


def test_reset_wait_message_gives_duration():
    assert "réessayez dans 5 minutes." in reset_wait_message(timedelta(minutes=5))


@pytest.mark.parametrize(
    ("email", "confirmation", "expected"),
    [
        ("Marie.Dupont@Exemple.fr", "marie.dupont@exemple.fr", {}),
        ("", "", {"new_email": MESSAGES["email_missing"]}),
        ("marie.dupont", "marie.dupont", {"new_email": MESSAGES["email_invalid"]}),
        (
            "marie@exemple.fr",
            "marie@exemple.com",
            {"new_email_confirmation": MESSAGES["email_mismatch"]},
        ),
        (
            "marie@exemple.fr",
            "marie@exemple.fr\x00",
            {"new_email_confirmation": MESSAGES["control_character"]},
        ),
    ],
)
def test_new_email_errors_by_field(email, confirmation, expected):
    fields = ("new_email", "new_email_confirmation")

    assert new_email_errors(email, confirmation, fields) == expected


def test_public_url_defaults_to_listening_address():
    settings = Settings(**SETTINGS, http_port=8123)

    assert settings.public_base_url == "http://127.0.0.1:8123"


def test_public_url_loses_trailing_slash():
    settings = Settings(**SETTINGS, public_url="https://educonnect.example.fr/")

    assert settings.public_base_url == "https://educonnect.example.fr"


def test_public_url_must_be_http_address():
    with pytest.raises(ValidationError, match="public_url"):
        Settings(**SETTINGS, public_url="educonnect.example.fr")


def account(**columns) -> dict:
    return {
        "disabled_at": None,
        "locked_until": None,
        "responsable_id": "siecle:1",
        "responsable_ids": ["siecle:1"],
        **columns,
    }


def test_disabled_account_is_refused():
    refusal = web._login_refusal(account(disabled_at=datetime.now(UTC)))

    assert refusal == (web.ACCOUNT_DISABLED, 403)


def test_emptied_account_is_refused():
    refusal = web._login_refusal(account(responsable_ids=[]))

    assert refusal == (web.ACCOUNT_GROUPED, 403)


def test_locked_account_is_refused_until_lock_ends():
    now = datetime.now(UTC)

    message, status_code = web._login_refusal(
        account(locked_until=now + timedelta(minutes=10))
    )

    assert status_code == 429
    assert "réessayez dans 10 minutes" in message
    assert web._login_refusal(account(locked_until=now - timedelta(seconds=1))) is None
    assert web._login_refusal(account()) is None
