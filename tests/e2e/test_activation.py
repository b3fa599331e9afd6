"""End to end on the sample académie, with the real broker, database and SMTP
server: an import proposes links, a parent confirms one child and refuses the
other, the portal shows only the confirmed one, and the SIECLE diffusion team
receives one e-mail with the correction deadline."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.pages import children_on_form, csrf_token, log_in, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIECLE_TEAM = "diffusion-siecle@ac-versailles.example"
EDUCONNECT_TEAM = "diffusion-educonnect@ac-versailles.example"
PASSWORD = "une longue phrase de passe"

# Aïssatou N'DIAYE, legal representative of the twins Awa and Fatou.
RESPONSABLE = "siecle:7100001"
AWA_INE, FATOU_INE = "9900000001W", "9900000002E"


def mentions(mail, text: str) -> bool:
    return text in mail.text_body()


async def test_activation_confirms_one_child_and_mails_the_refusal(
    sample_system, new_client
):
    identifiant, provisional = sample_system.notice(RESPONSABLE)
    client = new_client()

    form = log_in(client, identifiant, provisional)
    assert form.url.path == "/activation"
    children = children_on_form(form)
    assert sorted(children) == ["Awa", "Fatou"]

    confirmation = client.post(
        "/activation",
        data={
            "csrf_token": csrf_token(form),
            "email": "aissatou.ndiaye@example.org",
            "email_confirmation": "aissatou.ndiaye@example.org",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
            f"choix-{children['Awa']}": "oui",
            f"naissance-{children['Awa']}": "14/03/2013",
            f"choix-{children['Fatou']}": "non",
        },
    )
    assert confirmation.url.path == "/activation/confirmation"
    assert "Fatou" in text_of(confirmation)
    assert "Awa" not in text_of(confirmation)
    assert "Vous ne pourrez plus accéder aux téléservices" in text_of(confirmation)

    portal = client.post(
        "/activation/confirmation",
        data={"csrf_token": csrf_token(confirmation), "action": "valider"},
    )
    assert portal.url.path == "/portail"
    assert "Awa" in text_of(portal)
    assert "Fatou" not in text_of(portal)
    assert await sample_system.link_states(RESPONSABLE) == {
        AWA_INE: "confirmed",
        FATOU_INE: "refused",
    }

    refused_at = datetime.now(ZoneInfo("Europe/Paris")).date()
    mail = sample_system.mail.wait_for(
        lambda mail: mail.is_to(SIECLE_TEAM) and mentions(mail, FATOU_INE), timeout=60
    )
    assert mail.is_to(EDUCONNECT_TEAM)
    assert mentions(mail, "4300002")  # ELEVE_ID in SIECLE
    assert mentions(mail, "7100001")  # PERSONNE_ID of the responsable
    deadlines = {
        (refused_at + timedelta(days=30 + offset)).strftime("%d/%m/%Y")
        for offset in (-1, 0)  # the refusal may fall just before midnight
    }
    assert any(mentions(mail, deadline) for deadline in deadlines)

    again = new_client()
    # Fatou's refused link is still in the source, so the new password leads
    # to the page intermédiaire first.
    assert log_in(again, identifiant, PASSWORD).url.path == "/actions-compte"
    assert log_in(again, identifiant, provisional).status_code == 401

    siecle_mails_about_fatou = [
        mail
        for mail in sample_system.mail.messages()
        if mail.is_to(SIECLE_TEAM) and mentions(mail, FATOU_INE)
    ]
    assert len(siecle_mails_about_fatou) == 1
    assert not any(mentions(mail, AWA_INE) for mail in sample_system.mail.messages())
