"""The *page intermédiaire* after login: a parent with links not confirmed is
asked to act on them, confirms a child refused before, refuses children
through the confirmation screen, and skips the page with *Ignorer*."""

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

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACTIONS_TITLE = "Nous avons identifié des actions à effectuer sur votre compte"
ADD_CHILDREN_BUTTON = 'href="/actions-compte/enfants"'

# Rémi (08/10/2013, 5A) and Sébastien (05/12/2014, 6B) BERNARD, collège 0999101E.
BERNARD = "siecle:7100041"
# Yanis (12/02/2014) and Héloïse (06/10/2012) GAUTIER, collège 0999102F.
GAUTIER = "siecle:7100053"
PASSWORD = "cerf-volant sur la plage"


async def decision_screens(sample_system, responsable_id: str) -> list[tuple]:
    """Return (pupil first name, decision, screen) of each applied decision."""
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT e.prenom, a.decision, a.screen FROM links.decision_audit a"
            " JOIN links.eleves e USING (eleve_id)"
            " WHERE a.responsable_id = $1 AND a.new_state IS NOT NULL"
            " ORDER BY a.id",
            responsable_id,
        )
    finally:
        await connection.close()
    return [tuple(row) for row in rows]


async def propose_again(sample_system, responsable_id: str) -> None:
    """Put every link of the responsable back to 'proposed', as a later
    import does for a link whose pupil or responsable record changed."""
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        await connection.execute(
            "UPDATE links.links SET state = 'proposed', decided_at = NULL"
            " WHERE responsable_id = $1",
            responsable_id,
        )
    finally:
        await connection.close()


async def test_refused_child_is_confirmed_from_page_intermediaire(
    sample_system, new_client
):
    identifiant, provisional = sample_system.notice(BERNARD)
    client = new_client()
    activate(
        client,
        identifiant,
        provisional,
        email="famille.bernard@example.org",
        password=PASSWORD,
        birth_dates={"Rémi": "08/10/2013", "Sébastien": None},
    )

    again = new_client()
    actions = log_in(again, identifiant, PASSWORD)
    assert actions.url.path == "/actions-compte"
    assert ACTIONS_TITLE in text_of(actions)
    assert ADD_CHILDREN_BUTTON in actions.text
    assert again.get("/portail").url.path == "/portail"  # Ignorer

    form = again.get("/actions-compte/enfants")
    assert list(children_on_form(form)) == ["Sébastien"]
    assert "Établissement 0999101E, classe 6B" in text_of(form)
    assert "SIECLE (second degré)" in text_of(form)
    sebastien = children_on_form(form)["Sébastien"]

    wrong = again.post(
        "/actions-compte/enfants",
        data={
            "csrf_token": csrf_token(form),
            f"choix-{sebastien}": "oui",
            f"naissance-{sebastien}": "06/12/2014",
        },
    )
    assert wrong.status_code == 422
    assert MESSAGES["birth_date_mismatch"] in error_messages(wrong)
    assert 'value="06/12/2014"' in wrong.text
    assert sorted((await sample_system.link_states(BERNARD)).values()) == [
        "confirmed",
        "refused",
    ]

    done = again.post(
        "/actions-compte/enfants",
        data={
            "csrf_token": csrf_token(wrong),
            f"choix-{sebastien}": "oui",
            f"naissance-{sebastien}": "05/12/2014",
        },
    )
    assert done.url.path == "/actions-compte"
    assert "Vos choix ont été enregistrés" in text_of(done)
    assert ADD_CHILDREN_BUTTON not in done.text
    assert set((await sample_system.link_states(BERNARD)).values()) == {"confirmed"}
    assert (await decision_screens(sample_system, BERNARD))[-1] == (
        "Sébastien",
        "confirm",
        "page_intermediaire",
    )
    assert log_in(new_client(), identifiant, PASSWORD).url.path == "/portail"

    # The refusal mailed the SIECLE team; confirming Sébastien after all
    # withdraws it, which closes their case with a notice.
    def about_sebastien(mail, subject: str) -> bool:
        return (
            mail.is_to("diffusion-siecle@ac-versailles.example")
            and "9900000028U" in mail.text_body()
            and subject in mail.subject
        )

    sample_system.mail.wait_for(
        lambda mail: about_sebastien(mail, "Refus de rattachement"), timeout=60
    )
    sample_system.mail.wait_for(
        lambda mail: about_sebastien(mail, "Dossier clos"), timeout=60
    )


async def test_refusing_every_child_goes_through_confirmation(
    sample_system, new_client
):
    identifiant, provisional = sample_system.notice(GAUTIER)
    client = new_client()
    activate(
        client,
        identifiant,
        provisional,
        email="famille.gautier@example.org",
        password=PASSWORD,
        birth_dates={"Yanis": "12/02/2014", "Héloïse": "06/10/2012"},
    )
    await propose_again(sample_system, GAUTIER)

    assert log_in(client, identifiant, PASSWORD).url.path == "/actions-compte"
    form = client.get("/actions-compte/enfants")
    children = children_on_form(form)
    fields = {
        "csrf_token": csrf_token(form),
        f"choix-{children['Yanis']}": "non",
        f"choix-{children['Héloïse']}": "non",
    }

    confirmation = client.post("/actions-compte/enfants", data=fields)
    assert confirmation.url.path == "/actions-compte/confirmation"
    assert "Yanis" in text_of(confirmation)
    assert "Héloïse" in text_of(confirmation)
    assert "Vous ne pourrez plus accéder aux téléservices" in text_of(confirmation)

    back = client.post(
        "/actions-compte/confirmation",
        data={"csrf_token": csrf_token(confirmation), "action": "annuler"},
    )
    assert back.url.path == "/actions-compte/enfants"
    yanis = children["Yanis"]
    assert f'id="non-{yanis}" name="choix-{yanis}" value="non" checked' in back.text
    assert set((await sample_system.link_states(GAUTIER)).values()) == {"proposed"}

    confirmation = client.post(
        "/actions-compte/enfants", data=fields | {"csrf_token": csrf_token(back)}
    )
    done = client.post(
        "/actions-compte/confirmation",
        data={"csrf_token": csrf_token(confirmation), "action": "valider"},
    )
    assert done.url.path == "/actions-compte"
    assert set((await sample_system.link_states(GAUTIER)).values()) == {"refused"}
    screens = await decision_screens(sample_system, GAUTIER)
    assert sorted(screens[-2:]) == [
        ("Héloïse", "refuse", "page_intermediaire"),
        ("Yanis", "refuse", "page_intermediaire"),
    ]
    # Refused links are still in the source, so the page keeps its button.
    assert ADD_CHILDREN_BUTTON in done.text
    portal = client.get("/portail")
    assert "Yanis" not in text_of(portal)
    assert "Héloïse" not in text_of(portal)
