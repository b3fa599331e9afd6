"""Each mistake on the *Activation du compte* form gets a French message next
to the field, and nothing is stored: the account stays provisional and every
link stays proposed."""

import httpx
import pytest

from services.identity.forms import MESSAGES
from tests.e2e.pages import children_on_form, csrf_token, error_messages, log_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Élodie MORIN, legal representative of Camille (08/11/2013) and Gaëlle.
RESPONSABLE = "siecle:7100049"
PASSWORD = "une longue phrase de passe"


def valid_fields(form_page: httpx.Response) -> dict[str, str]:
    children = children_on_form(form_page)
    fields = {
        "csrf_token": csrf_token(form_page),
        "email": "elodie.morin@example.org",
        "email_confirmation": "elodie.morin@example.org",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
        f"choix-{children['Camille']}": "oui",
        f"naissance-{children['Camille']}": "08/11/2013",
        f"choix-{children['Gaëlle']}": "non",
    }
    return fields


def camille(form_page: httpx.Response) -> str:
    return children_on_form(form_page)["Camille"]


CASES = {
    "wrong birth date": (
        lambda page: {f"naissance-{camille(page)}": "09/11/2013"},
        MESSAGES["birth_date_mismatch"],
    ),
    "impossible birth date": (
        lambda page: {f"naissance-{camille(page)}": "31/02/2013"},
        MESSAGES["birth_date_invalid"],
    ),
    "no child confirmed": (
        lambda page: {f"choix-{camille(page)}": "non"},
        MESSAGES["no_child_confirmed"],
    ),
    "mismatched e-mails": (
        lambda page: {"email_confirmation": "elodie.morin@example.com"},
        MESSAGES["email_mismatch"],
    ),
    "mismatched passwords": (
        lambda page: {"password_confirmation": PASSWORD + "!"},
        MESSAGES["password_mismatch"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_activation_error_is_shown_and_nothing_stored(
    sample_system, case, new_client
):
    change, expected_message = CASES[case]
    identifiant, provisional = sample_system.notice(RESPONSABLE)
    client = new_client()
    form_page = log_in(client, identifiant, provisional)
    fields = valid_fields(form_page) | change(form_page)

    answer = client.post("/activation", data=fields)

    assert answer.status_code == 422
    assert answer.url.path == "/activation"
    assert expected_message in error_messages(answer)
    assert fields["email"] in answer.text  # what was typed is kept
    assert PASSWORD not in answer.text  # except the passwords
    account = await sample_system.account(RESPONSABLE)
    assert account["activated_at"] is None
    assert account["email"] is None
    assert set((await sample_system.link_states(RESPONSABLE)).values()) == {"proposed"}


async def test_annuler_returns_to_the_form_as_typed(sample_system, new_client):
    identifiant, provisional = sample_system.notice(RESPONSABLE)
    client = new_client()
    form_page = log_in(client, identifiant, provisional)
    fields = valid_fields(form_page)

    confirmation = client.post("/activation", data=fields)
    back = client.post(
        "/activation/confirmation",
        data={"csrf_token": csrf_token(confirmation), "action": "annuler"},
    )

    assert back.url.path == "/activation"
    assert 'value="elodie.morin@example.org"' in back.text
    assert 'value="08/11/2013"' in back.text
    gaelle = children_on_form(back)["Gaëlle"]
    assert f'id="non-{gaelle}" name="choix-{gaelle}" value="non" checked' in back.text
    assert (await sample_system.account(RESPONSABLE))["activated_at"] is None
    assert set((await sample_system.link_states(RESPONSABLE)).values()) == {"proposed"}


async def test_form_without_csrf_token_is_rejected(sample_system, new_client):
    identifiant, provisional = sample_system.notice(RESPONSABLE)
    client = new_client()
    form_page = log_in(client, identifiant, provisional)
    fields = valid_fields(form_page) | {"csrf_token": "forged"}

    answer = client.post("/activation", data=fields)

    assert answer.status_code == 403
    assert (await sample_system.account(RESPONSABLE))["activated_at"] is None
