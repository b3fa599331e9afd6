"""Pupils' login over HTTP. The notice opens the pupils' activation, then the
portal with the pupil's school and services. The link screens, whatever the
method, send a pupil back to its own pages. *Mon compte* has *Mes
informations* only, and a téléservice gets the pupil back."""

import asyncpg
import pytest

from services.identity import account_kinds, account_pages, web
from services.identity.forms import MESSAGES
from tests.e2e.pages import csrf_token, error_messages, log_in, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "la tortue traverse le jardin potager"

# Pupils of the week-1 samples that no other test logs in, by INE (their id).
ZOE_MOREL = "9900000014R"  # collège 0999101E, 5A
VALERIE_LEFEBVRE = "9900000017S"  # collège 0999101E, 5A
NOE_DUBOIS = "9900000018A"  # collège 0999101E, 6A
ELODIE_GAUTHIER = "9900000019J"  # collège 0999101E, 4A
MICKAEL_DUPONT = "9900000021H"  # collège 0999101E, 5A
JADE_LEFEBVRE = "9900000044W"  # école 0999201N, 41002
SANDRINE_DUPONT = "9900000023A"  # collège 0999101E, 5A
KARIM_MASSON = "9900000025T"  # collège 0999101E, 5A
BASTIEN_CLEMENT = "9900000024J"  # collège 0999101E, 6B


def link_screen_routes() -> list[tuple[str, str]]:
    """Return (method, path) of every link screen of the front door's routers."""
    return sorted(
        (method, route.path)
        for router in (web.router, account_pages.router)
        for route in router.routes
        if account_kinds.is_responsable_page(route.path)
        for method in route.methods
    )


def activate_pupil(client, sample_system, eleve_id: str):
    """Log the pupil in with its notice and choose PASSWORD; return the page
    the activation leads to."""
    identifiant, provisional = sample_system.pupil_notice(eleve_id)
    form = log_in(client, identifiant, provisional)
    assert form.url.path == "/activation-eleve", text_of(form)
    return client.post(
        "/activation-eleve",
        data={
            "csrf_token": csrf_token(form),
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )


async def log_in_pupil(client, sample_system, eleve_id: str):
    """Log the pupil in, activating its account first if no test did yet."""
    account = await sample_system.pupil_account(eleve_id)
    if account["activated_at"] is None:
        return activate_pupil(client, sample_system, eleve_id)
    return log_in(client, account["identifiant"], PASSWORD)


async def mark_school_removed(sample_system, eleve_id: str) -> None:
    """Mark the pupil's school removed, as an import without the pupil does."""
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        await connection.execute(
            "UPDATE identity.eleve_schools SET removed_at = now()"
            " FROM identity.accounts"
            " WHERE accounts.account_id = eleve_schools.account_id"
            " AND accounts.eleve_id = $1",
            eleve_id,
        )
    finally:
        await connection.close()


async def links_of(sample_system, eleve_id: str) -> dict[str, str]:
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT link_id::text, state::text FROM links.links WHERE eleve_id = $1",
            eleve_id,
        )
    finally:
        await connection.close()
    return {row["link_id"]: row["state"] for row in rows}


def test_link_screens_are_all_listed():
    routes = link_screen_routes()

    assert ("GET", "/activation") in routes
    assert ("POST", "/activation/confirmation") in routes
    assert ("GET", "/actions-compte") in routes
    assert ("POST", "/actions-compte/enfants") in routes
    assert ("POST", "/mon-compte/enfants/refus") in routes
    assert ("GET", "/mon-compte/enfants/confirmation") in routes


async def test_every_imported_pupil_has_an_account(sample_system):
    account = await sample_system.pupil_account(JADE_LEFEBVRE)

    assert account["kind"] == "eleve"
    assert account["responsable_id"] is None
    assert account["identifiant"].startswith("j.lefebvre")
    assert account["activated_at"] is None


async def test_notice_opens_pupil_activation(sample_system, new_client):
    identifiant, provisional = sample_system.pupil_notice(ZOE_MOREL)
    client = new_client()

    form = log_in(client, identifiant, provisional)

    assert form.url.path == "/activation-eleve"
    assert "Activation du compte élève" in text_of(form)
    assert "Bonjour Zoé MOREL" in text_of(form)
    assert "Adresse électronique" not in text_of(form)
    assert client.get("/portail").url.path == "/activation-eleve"


async def test_pupil_activation_rejects_weak_password(sample_system, new_client):
    identifiant, provisional = sample_system.pupil_notice(ZOE_MOREL)
    client = new_client()
    form = log_in(client, identifiant, provisional)

    weak = client.post(
        "/activation-eleve",
        data={
            "csrf_token": csrf_token(form),
            "password": "azerty",
            "password_confirmation": "azerty",
        },
    )
    mismatch = client.post(
        "/activation-eleve",
        data={
            "csrf_token": csrf_token(form),
            "password": PASSWORD,
            "password_confirmation": PASSWORD + " bleu",
        },
    )

    assert weak.status_code == 422
    assert MESSAGES["password_short"] in error_messages(weak)
    assert mismatch.status_code == 422
    assert MESSAGES["password_mismatch"] in error_messages(mismatch)
    assert (await sample_system.pupil_account(ZOE_MOREL))["activated_at"] is None


async def test_pupil_activation_checks_csrf(sample_system, new_client):
    identifiant, provisional = sample_system.pupil_notice(ZOE_MOREL)
    client = new_client()
    log_in(client, identifiant, provisional)

    forged = client.post(
        "/activation-eleve",
        data={
            "csrf_token": "pas-le-bon-jeton",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )

    assert forged.status_code == 403
    assert (await sample_system.pupil_account(ZOE_MOREL))["activated_at"] is None


async def test_portal_shows_pupil_school_services(sample_system, new_client):
    client = new_client()

    portal = activate_pupil(client, sample_system, ELODIE_GAUTHIER)

    assert portal.url.path == "/portail"
    text = text_of(portal)
    assert "Bonjour Élodie GAUTHIER" in text
    assert "Classe 4A – établissement 0999101E (second degré)" in text
    assert "Espace numérique de travail" in text
    assert "Mes bilans et compétences" in text
    assert "Demande de bourse" not in text
    assert "Mes enfants" not in text
    assert "actions à effectuer" not in text
    account = await sample_system.pupil_account(ELODIE_GAUTHIER)
    assert account["activated_at"] is not None
    assert account["email"] is None


async def test_first_degree_pupil_services(sample_system, new_client):
    client = new_client()

    portal = activate_pupil(client, sample_system, JADE_LEFEBVRE)

    text = text_of(portal)
    assert "école 0999201N (premier degré)" in text
    assert "ent-ecole.teleservices.example" in portal.text
    assert "ent.teleservices.example/" not in portal.text


async def test_pupil_logs_in_with_password(sample_system, new_client):
    _, provisional = sample_system.pupil_notice(KARIM_MASSON)
    activate_pupil(new_client(), sample_system, KARIM_MASSON)
    identifiant = (await sample_system.pupil_account(KARIM_MASSON))["identifiant"]

    page = log_in(new_client(), identifiant, PASSWORD)
    old_notice = log_in(new_client(), identifiant, provisional)

    assert page.url.path == "/portail"
    assert "Bonjour Karim MASSON" in text_of(page)
    assert old_notice.status_code == 401


@pytest.mark.parametrize("activated", [False, True], ids=["new", "activated"])
async def test_link_screens_send_pupil_home(sample_system, new_client, activated):
    eleve_id = NOE_DUBOIS if activated else VALERIE_LEFEBVRE
    client = new_client()
    if activated:
        await log_in_pupil(client, sample_system, eleve_id)
        home = "/portail"
    else:
        identifiant, provisional = sample_system.pupil_notice(eleve_id)
        log_in(client, identifiant, provisional)
        home = "/activation-eleve"
    token = csrf_token(client.get(home))
    # A link of one of the pupil's own parents, so a decision would be valid
    # if the guard let it through.
    links_before = await links_of(sample_system, eleve_id)
    link_id = next(iter(links_before))

    for method, path in link_screen_routes():
        answer = client.request(
            method,
            path,
            data={
                "csrf_token": token,
                "link_id": link_id,
                "action": "valider",
                f"choix-{link_id}": "non",
            }
            if method == "POST"
            else None,
            follow_redirects=False,
        )
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"] == home, (method, path)

    assert await links_of(sample_system, eleve_id) == links_before
    assert (
        (await sample_system.pupil_account(eleve_id))["activated_at"] is not None
    ) is activated


async def test_pupil_mon_compte_informations_only(sample_system, new_client):
    client = new_client()
    await log_in_pupil(client, sample_system, NOE_DUBOIS)

    page = client.get("/mon-compte")

    text = text_of(page)
    assert page.url.path == "/mon-compte"
    assert "Mes informations" in text
    assert (await sample_system.pupil_account(NOE_DUBOIS))["identifiant"] in text
    assert "Changer mon mot de passe" in text
    assert "Mes enfants" not in text
    assert "Adresse électronique" not in text


async def test_pupil_changes_its_password(sample_system, new_client):
    client = new_client()
    await log_in_pupil(client, sample_system, SANDRINE_DUPONT)
    new_password = "le hibou compte les étoiles filantes"
    page = client.get("/mon-compte")

    changed = client.post(
        "/mon-compte/mot-de-passe",
        data={
            "csrf_token": csrf_token(page),
            "current_password": PASSWORD,
            "password": new_password,
            "password_confirmation": new_password,
        },
    )

    assert changed.url.path == "/mon-compte"
    assert "Votre mot de passe a été modifié." in text_of(changed)
    identifiant = (await sample_system.pupil_account(SANDRINE_DUPONT))["identifiant"]
    assert log_in(new_client(), identifiant, new_password).url.path == "/portail"
    assert log_in(new_client(), identifiant, PASSWORD).status_code == 401


async def test_teleservice_gets_the_pupil_back(sample_system, new_client):
    identifiant, provisional = sample_system.pupil_notice(MICKAEL_DUPONT)
    client = new_client()
    back = "https://ent.teleservices.example/eleve/agenda"

    login_page = client.get("/mon-compte", params={"retour": back})
    assert login_page.url.path == "/connexion"
    form = log_in(client, identifiant, provisional)
    assert form.url.path == "/activation-eleve"
    account = client.post(
        "/activation-eleve",
        data={
            "csrf_token": csrf_token(form),
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )

    assert account.url.path == "/mon-compte"
    assert f'href="{back}"' in account.text
    assert "Retour au téléservice Espace numérique de travail" in text_of(account)

    elsewhere = client.get(
        "/mon-compte", params={"retour": "https://pirate.example/eleve"}
    )
    assert "Retour au téléservice" not in text_of(elsewhere)
    assert "pirate.example" not in elsewhere.text


async def test_responsable_leaves_pupil_activation(sample_system, new_client):
    identifiant, provisional = sample_system.notice("siecle:7100016")
    client = new_client()
    log_in(client, identifiant, provisional)

    page = client.get("/activation-eleve")

    assert page.url.path == "/activation"


async def test_removed_pupil_sees_no_services(sample_system, new_client):
    activate_pupil(new_client(), sample_system, BASTIEN_CLEMENT)
    identifiant = (await sample_system.pupil_account(BASTIEN_CLEMENT))["identifiant"]
    await mark_school_removed(sample_system, BASTIEN_CLEMENT)

    portal = log_in(new_client(), identifiant, PASSWORD)

    text = text_of(portal)
    assert portal.url.path == "/portail"
    assert "ne vous compte plus parmi ses élèves" in text
    assert "0999101E" not in text
    assert "Espace numérique de travail" not in text
