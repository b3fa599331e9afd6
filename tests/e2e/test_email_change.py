"""*Changer d'adresse électronique* in *Mon compte*: the new address gets a
single-use verification link and replaces the old one only once the link is
opened. Each mistake gets a message next to its field."""

import re

import pytest

from services.identity.forms import MESSAGES
from tests.e2e.pages import csrf_token, error_messages, log_in, text_of
from tests.e2e.test_password_reset import (
    PASSWORD,
    account_row,
    ask_reset,
    execute,
    forget_address_failures,  # noqa: F401 (an autouse fixture of this module too)
    make_account,
    reset_links,
    unique_email,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VERIFICATION_LINK = re.compile(r"https?://\S+(/adresse-electronique/[A-Za-z0-9_-]+)")


def ask_change(client, new_email: str, confirmation: str, password: str):
    """Send the e-mail change form of *Mon compte*."""
    page = client.get("/mon-compte")
    return client.post(
        "/mon-compte/adresse-electronique",
        data={
            "new_email": new_email,
            "new_email_confirmation": confirmation,
            "email_current_password": password,
            "csrf_token": csrf_token(page),
        },
    )


def verification_link(sample_system, email: str) -> str:
    """Wait for the verification mail to ``email`` and return its link's path."""
    mail = sample_system.mail.wait_for(
        lambda mail: mail.is_to(email) and "Confirmez" in mail.subject, timeout=60
    )
    return VERIFICATION_LINK.search(mail.text_body()).group(1)


async def test_email_changes_when_link_is_opened(sample_system, new_client):
    old_email = unique_email()
    account = await make_account(sample_system, email=old_email)
    client = new_client()
    log_in(client, account["identifiant"], PASSWORD)
    typed = unique_email("Nouvelle.Adresse").replace("example", "Example")

    sent = ask_change(client, typed, typed.lower(), PASSWORD)

    assert sent.url.path == "/mon-compte"
    assert f"Un lien de confirmation a été envoyé à {typed.lower()}" in text_of(sent)
    assert (await account_row(sample_system, account["account_id"]))[
        "email"
    ] == old_email
    path = verification_link(sample_system, typed.lower())
    confirmed = new_client().get(path)
    assert confirmed.status_code == 200
    assert "Votre adresse électronique a été modifiée" in text_of(confirmed)
    row = await account_row(sample_system, account["account_id"])
    assert row["email"] == typed.lower()
    assert new_client().get(path).status_code == 404
    assert log_in(new_client(), typed, PASSWORD).url.path == "/portail"
    assert log_in(new_client(), old_email, PASSWORD).status_code == 401


async def test_mistakes_shown_next_to_fields(sample_system, new_client):
    account = await make_account(sample_system, email=unique_email())
    client = new_client()
    log_in(client, account["identifiant"], PASSWORD)
    typed = unique_email()

    mismatch = ask_change(client, typed, "autre@example.org", "pas le bon mot de passe")
    invalid = ask_change(client, "pas-une-adresse", "pas-une-adresse", PASSWORD)
    unchanged = ask_change(client, account["email"], account["email"], PASSWORD)

    assert mismatch.status_code == 422
    assert error_messages(mismatch) == [
        MESSAGES["email_mismatch"],
        MESSAGES["current_password_wrong"],
    ]
    assert f'value="{typed}"' in mismatch.text
    assert 'value="autre@example.org"' in mismatch.text
    assert "pas le bon mot de passe" not in mismatch.text
    assert error_messages(invalid) == [MESSAGES["email_invalid"]]
    assert error_messages(unchanged) == [MESSAGES["email_unchanged"]]
    assert not [m for m in sample_system.mail.messages() if m.is_to(typed)]


async def test_taken_email_is_refused(sample_system, new_client):
    taken = unique_email()
    await make_account(sample_system, email=taken)
    account = await make_account(sample_system, email=unique_email())
    client = new_client()
    log_in(client, account["identifiant"], PASSWORD)

    refused = ask_change(client, taken.upper(), taken, PASSWORD)

    assert refused.status_code == 422
    assert error_messages(refused) == [MESSAGES["email_taken"]]
    assert 'href="/mot-de-passe-oublie"' in refused.text


async def test_taken_email_is_not_told_without_password(sample_system, new_client):
    taken = unique_email()
    await make_account(sample_system, email=taken)
    account = await make_account(sample_system, email=unique_email())
    client = new_client()
    log_in(client, account["identifiant"], PASSWORD)

    refused = ask_change(client, taken, taken, "pas le bon mot de passe")

    assert refused.status_code == 422
    assert error_messages(refused) == [MESSAGES["current_password_wrong"]]


async def test_address_taken_before_link_is_opened(sample_system, new_client):
    account = await make_account(sample_system, email=unique_email())
    client = new_client()
    log_in(client, account["identifiant"], PASSWORD)
    wanted = unique_email()
    ask_change(client, wanted, wanted, PASSWORD)
    path = verification_link(sample_system, wanted)

    other = await make_account(sample_system, email=wanted)
    refused = client.get(path)

    assert refused.status_code == 409
    assert MESSAGES["email_taken"] in text_of(refused)
    row = await account_row(sample_system, account["account_id"])
    assert row["email"] == account["email"]
    assert (await account_row(sample_system, other["account_id"]))["email"] == wanted


async def test_verification_link_expires(sample_system, new_client):
    account = await make_account(sample_system, email=unique_email())
    client = new_client()
    log_in(client, account["identifiant"], PASSWORD)
    wanted = unique_email()
    ask_change(client, wanted, wanted, PASSWORD)
    path = verification_link(sample_system, wanted)

    await execute(
        sample_system,
        "UPDATE identity.email_verifications SET expires_at = now()"
        " WHERE account_id = $1",
        account["account_id"],
    )

    assert client.get(path).status_code == 404
    row = await account_row(sample_system, account["account_id"])
    assert row["email"] == account["email"]


async def test_change_voids_reset_links(sample_system, new_client):
    old_email = unique_email()
    account = await make_account(sample_system, email=old_email)
    client = new_client()
    ask_reset(new_client(), old_email)
    [reset_path] = reset_links(sample_system, old_email)
    log_in(client, account["identifiant"], PASSWORD)
    wanted = unique_email()
    ask_change(client, wanted, wanted, PASSWORD)

    client.get(verification_link(sample_system, wanted))

    assert client.get(reset_path).status_code == 404


async def test_password_change_voids_reset_links(sample_system, new_client):
    email = unique_email()
    account = await make_account(sample_system, email=email)
    ask_reset(new_client(), email)
    [reset_path] = reset_links(sample_system, email)
    client = new_client()
    log_in(client, account["identifiant"], PASSWORD)
    page = client.get("/mon-compte")

    changed = client.post(
        "/mon-compte/mot-de-passe",
        data={
            "csrf_token": csrf_token(page),
            "current_password": PASSWORD,
            "password": "une autre phrase de passe bien longue",
            "password_confirmation": "une autre phrase de passe bien longue",
        },
    )

    assert changed.url.path == "/mon-compte", text_of(changed)
    assert new_client().get(reset_path).status_code == 404


async def test_logged_out_visitor_cannot_change(sample_system, new_client):
    client = new_client()
    login_page = client.get("/connexion")

    answer = client.post(
        "/mon-compte/adresse-electronique",
        data={
            "new_email": "x@example.org",
            "new_email_confirmation": "x@example.org",
            "email_current_password": PASSWORD,
            "csrf_token": csrf_token(login_page),
        },
    )

    assert answer.url.path == "/connexion"
    assert not [m for m in sample_system.mail.messages() if m.is_to("x@example.org")]
