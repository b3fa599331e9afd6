"""*Mon compte*: the parent's information, a password change that needs the
current password, and refusing a confirmed child, never the last one."""

import asyncpg
import pytest

from services.identity.forms import MESSAGES
from tests.e2e.pages import activate, csrf_token, error_messages, log_in, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Mathéo (07/12/2012) and Frédéric (20/03/2013) ROBIN, collège 0999102F.
ROBIN = "siecle:7100061"
# Karim (18/06/2012) and Lucas (04/05/2011) GIRARD, collège 0999102F.
GIRARD = "siecle:7100063"
# Mamadou DUPONT, second legal representative of Mickaël (07/01/2013) and
# François (17/01/2012).
DUPONT = "siecle:7100032"
# Frédéric MORIN, second legal representative of Camille (08/11/2013) and
# Gaëlle (14/09/2013).
MORIN = "siecle:7100050"
PASSWORD = "le train de midi part en retard"
NEW_PASSWORD = "une tasse de thé sous la pluie"


async def link_ids(sample_system, responsable_id: str) -> dict[str, str]:
    """Return the link id of each of the responsable's children, by first name."""
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT e.prenom, l.link_id::text FROM links.links l"
            " JOIN links.eleves e USING (eleve_id) WHERE l.responsable_id = $1",
            responsable_id,
        )
    finally:
        await connection.close()
    return {row["prenom"]: row["link_id"] for row in rows}


async def last_screen(sample_system, responsable_id: str) -> str:
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        return await connection.fetchval(
            "SELECT screen FROM links.decision_audit WHERE responsable_id = $1"
            " AND new_state IS NOT NULL ORDER BY id DESC LIMIT 1",
            responsable_id,
        )
    finally:
        await connection.close()


async def test_refused_child_leaves_portal_and_comes_back(sample_system, new_client):
    identifiant, provisional = sample_system.notice(ROBIN)
    client = new_client()
    activate(
        client,
        identifiant,
        provisional,
        email="famille.robin@example.org",
        password=PASSWORD,
        birth_dates={"Mathéo": "07/12/2012", "Frédéric": "20/03/2013"},
    )
    children = await link_ids(sample_system, ROBIN)

    account = client.get("/mon-compte")
    assert identifiant in text_of(account)
    assert "famille.robin@example.org" in text_of(account)
    assert "Je ne suis pas le représentant légal de Frédéric" in text_of(account)

    confirmation = client.post(
        "/mon-compte/enfants/refus",
        data={"csrf_token": csrf_token(account), "link_id": children["Frédéric"]},
    )
    assert confirmation.url.path == "/mon-compte/enfants/confirmation"
    assert "Frédéric" in text_of(confirmation)
    assert "Mathéo" not in text_of(confirmation)
    kept = client.post(
        "/mon-compte/enfants/confirmation",
        data={"csrf_token": csrf_token(confirmation), "action": "annuler"},
    )
    assert kept.url.path == "/mon-compte"
    assert set((await sample_system.link_states(ROBIN)).values()) == {"confirmed"}

    confirmation = client.post(
        "/mon-compte/enfants/refus",
        data={"csrf_token": csrf_token(kept), "link_id": children["Frédéric"]},
    )
    account = client.post(
        "/mon-compte/enfants/confirmation",
        data={"csrf_token": csrf_token(confirmation), "action": "valider"},
    )
    assert account.url.path == "/mon-compte"
    assert "à votre compte est retiré" in text_of(account)
    assert "Je ne suis pas le représentant légal" not in text_of(account)
    assert "Frédéric" not in text_of(client.get("/portail"))
    assert await last_screen(sample_system, ROBIN) == "mon_compte"

    last = client.post(
        "/mon-compte/enfants/refus",
        data={"csrf_token": csrf_token(account), "link_id": children["Mathéo"]},
    )
    assert last.status_code == 422
    assert MESSAGES["last_confirmed_link"] in error_messages(last)
    assert sorted((await sample_system.link_states(ROBIN)).values()) == [
        "confirmed",
        "refused",
    ]

    again = new_client()
    assert log_in(again, identifiant, PASSWORD).url.path == "/actions-compte"
    assert "Frédéric" in text_of(again.get("/actions-compte/enfants"))


async def test_other_parents_link_is_not_found(sample_system, new_client):
    identifiant, provisional = sample_system.notice(GIRARD)
    client = new_client()
    activate(
        client,
        identifiant,
        provisional,
        email="famille.girard@example.org",
        password=PASSWORD,
        birth_dates={"Karim": "18/06/2012", "Lucas": "04/05/2011"},
    )
    others = await link_ids(sample_system, "siecle:7100001")
    states_before = await sample_system.link_states("siecle:7100001")
    account = client.get("/mon-compte")

    for link_id in [*others.values(), "pas-un-identifiant"]:
        answer = client.post(
            "/mon-compte/enfants/refus",
            data={"csrf_token": csrf_token(account), "link_id": link_id},
        )
        assert answer.status_code == 404
        assert "Cet élève n'est pas rattaché à votre compte." in text_of(answer)
    assert await sample_system.link_states("siecle:7100001") == states_before


async def test_password_change_needs_the_current_password(sample_system, new_client):
    identifiant, provisional = sample_system.notice(DUPONT)
    client = new_client()
    activate(
        client,
        identifiant,
        provisional,
        email="famille.dupont@example.org",
        password=PASSWORD,
        birth_dates={"Mickaël": "07/01/2013", "François": "17/01/2012"},
    )
    account = client.get("/mon-compte")

    def change(current: str, new: str, confirmation: str):
        return client.post(
            "/mon-compte/mot-de-passe",
            data={
                "csrf_token": csrf_token(account),
                "current_password": current,
                "password": new,
                "password_confirmation": confirmation,
            },
        )

    wrong_current = change("pas le mot de passe", NEW_PASSWORD, NEW_PASSWORD)
    assert wrong_current.status_code == 422
    assert MESSAGES["current_password_wrong"] in error_messages(wrong_current)
    assert NEW_PASSWORD not in wrong_current.text

    common = change(PASSWORD, "qwerty123456", "qwerty123456")
    assert MESSAGES["password_common"] in error_messages(common)
    weak = change(PASSWORD, "aaaaaaaaaaaa", "aaaaaaaaaaaa")
    assert any(
        message.startswith(MESSAGES["password_weak"])
        for message in error_messages(weak)
    )
    mismatch = change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert MESSAGES["password_mismatch"] in error_messages(mismatch)
    assert log_in(new_client(), identifiant, PASSWORD).url.path == "/portail"

    done = change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert done.url.path == "/mon-compte"
    assert "Votre mot de passe a été modifié." in text_of(done)
    assert log_in(new_client(), identifiant, PASSWORD).status_code == 401
    assert log_in(new_client(), identifiant, NEW_PASSWORD).url.path == "/portail"


async def test_teleservice_gets_its_user_back(sample_system, new_client):
    identifiant, provisional = sample_system.notice(MORIN)
    client = new_client()
    activate(
        client,
        identifiant,
        provisional,
        email="famille.morin@example.org",
        password=PASSWORD,
        birth_dates={"Camille": "08/11/2013", "Gaëlle": "14/09/2013"},
    )
    registered = "https://orientation.teleservices.example/eleve?onglet=voeux"

    account = client.get("/mon-compte", params={"retour": registered})
    assert account.url.path == "/mon-compte"
    assert "Retour au téléservice Orientation" in text_of(account)
    assert 'href="https://orientation.teleservices.example/eleve?onglet=voeux"' in (
        account.text.replace("&amp;", "&")
    )

    unknown = client.get("/mon-compte", params={"retour": "https://pirate.example/"})
    assert unknown.status_code == 200
    assert "pirate.example" not in unknown.text
    assert "Retour au téléservice" not in text_of(unknown)

    logged_out = new_client()
    login_page = logged_out.get("/mon-compte", params={"retour": registered})
    assert login_page.url.path == "/connexion"
    after_login = log_in(logged_out, identifiant, PASSWORD)
    assert after_login.url.path == "/mon-compte"
    assert "Retour au téléservice Orientation" in text_of(after_login)
