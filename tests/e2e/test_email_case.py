"""E-mail addresses are one person whatever their case: an address typed with
capitals at activation logs in in lower case, and an address that another
account has leads to account recovery, never to a second account."""

import uuid

import asyncpg
import pytest

from services.identity.forms import MESSAGES
from tests.e2e.pages import (
    activate,
    children_on_form,
    csrf_token,
    error_messages,
    log_in,
    text_of,
)
from tests.e2e.test_password_reset import (
    PASSWORD,
    forget_address_failures,  # noqa: F401 (an autouse fixture of this module too)
    make_account,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Valérie MOREAU, legal representative of Noé (07/04/2014, collège 0999102F).
MOREAU = "siecle:7100045"
# Karine BOYER, legal representative of Mathéo (21/03/2012, collège 0999102F).
BOYER = "siecle:7100047"


async def accounts_with_email(sample_system, email: str) -> int:
    """Return how many accounts have ``email``, compared case-insensitively."""
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM identity.accounts WHERE lower(email) = lower($1)",
            email,
        )
    finally:
        await connection.close()


async def test_capitalised_email_is_same_person(sample_system, new_client):
    typed = f"Marie.Dupont.{uuid.uuid4().hex[:6]}@Exemple.fr"
    identifiant, provisional = sample_system.notice(MOREAU)

    activate(
        new_client(),
        identifiant,
        provisional,
        email=typed,
        password=PASSWORD,
        birth_dates={"Noé": "07/04/2014"},
    )

    account = await sample_system.account(MOREAU)
    assert account["email"] == typed.lower()
    mail = sample_system.mail.wait_for(
        lambda mail: mail.is_to(typed.lower()) and "activé" in mail.subject,
        timeout=60,
    )
    assert mail.subject == "[EduConnect] Votre compte est activé"
    assert identifiant in mail.text_body()
    for login in (typed.lower(), typed, f"  {typed.upper()} "):
        assert log_in(new_client(), login, PASSWORD).url.path == "/portail"


async def test_taken_email_leads_to_recovery(sample_system, new_client):
    held = f"marie.dupont.{uuid.uuid4().hex[:6]}@exemple.fr"
    await make_account(sample_system, email=held)
    identifiant, provisional = sample_system.notice(BOYER)
    client = new_client()
    form = log_in(client, identifiant, provisional)
    matheo = children_on_form(form)["Mathéo"]
    typed = held.replace("marie.dupont", "Marie.Dupont").replace("exemple", "Exemple")

    refused = client.post(
        "/activation",
        data={
            "csrf_token": csrf_token(form),
            "email": typed,
            "email_confirmation": typed,
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
            f"choix-{matheo}": "oui",
            f"naissance-{matheo}": "21/03/2012",
        },
    )

    assert refused.status_code == 422
    assert error_messages(refused) == [MESSAGES["email_taken"]]
    assert f'value="{typed}"' in refused.text
    assert 'href="/mot-de-passe-oublie"' in refused.text
    assert await accounts_with_email(sample_system, held) == 1
    assert (await sample_system.account(BOYER))["activated_at"] is None
    assert (await sample_system.link_states(BOYER)) == {
        eleve_id: "proposed" for eleve_id in await sample_system.link_states(BOYER)
    }

    other = f"karine.boyer.{uuid.uuid4().hex[:6]}@example.org"
    activated = client.post(
        "/activation",
        data={
            "csrf_token": csrf_token(refused),
            "email": other,
            "email_confirmation": other,
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
            f"choix-{matheo}": "oui",
            f"naissance-{matheo}": "21/03/2012",
        },
    )
    assert activated.url.path == "/portail", text_of(activated)
    assert (await sample_system.account(BOYER))["email"] == other
