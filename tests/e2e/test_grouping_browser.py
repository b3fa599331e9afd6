"""*Ajouter les enfants d'un autre compte* in a real headless Chromium, and its
rules through the HTTP forms: the other account's identifiant and
provisional password, the same name, the same response for an unknown
identifiant and a wrong password."""

import asyncio

import asyncpg
import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.browser import check_page
from tests.e2e.pages import activate, csrf_token, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GROUPING_PAGE = "/mon-compte/enfants/autre-compte"
WRONG_CREDENTIALS = "Identifiant ou mot de passe provisoire incorrect"
# A week-1 sample responsable no other test logs in with: Loïc GUÉRIN.
OTHER_PERSON = "siecle:7100014"


async def record_of(system, nom: str, prenom: str, prefix: str) -> str:
    """Return the id of the responsable record with this name and id prefix."""
    connection = await asyncpg.connect(system.stack.database_url)
    try:
        return await connection.fetchval(
            "SELECT responsable_id FROM identity.accounts"
            " WHERE nom = $1 AND prenom = $2 AND responsable_id LIKE $3 || '%'",
            nom,
            prenom,
            prefix,
        )
    finally:
        await connection.close()


def send_grouping(client, identifiant: str, password: str):
    form = client.get(GROUPING_PAGE)
    return client.post(
        GROUPING_PAGE,
        data={
            "identifiant": identifiant,
            "password": password,
            "csrf_token": csrf_token(form),
        },
    )


@pytest.mark.browser
async def test_parent_groups_other_notice_in_browser(creation_system, page):
    # Claire LEROY: Zoé (21/01/2017) in école 0999301K on one notice, Jade
    # (30/06/2014) in collège 0999302L on another.
    base = creation_system.identity_url
    ecole_record = await record_of(creation_system, "LEROY", "Claire", "onde:")
    college_record = await record_of(creation_system, "LEROY", "Claire", "siecle:")
    identifiant, provisional = creation_system.notice(ecole_record)
    other_identifiant, other_provisional = creation_system.notice(college_record)
    password = "la lune se couche tard en juin"
    with httpx.Client(base_url=base, follow_redirects=True) as client:
        activate(
            client,
            identifiant,
            provisional,
            email="claire.leroy@example.org",
            password=password,
            birth_dates={"Zoé": "21/01/2017"},
        )

    await page.goto(base + "/connexion")
    await page.get_by_label("Identifiant").fill(identifiant)
    await page.get_by_label("Mot de passe").fill(password)
    await page.get_by_role("button", name="Se connecter").click()
    await page.goto(base + "/mon-compte")
    await page.get_by_role("link", name="Ajouter les enfants d'un autre compte").click()
    await expect(
        page.get_by_role("heading", name="Ajouter les enfants d'un autre compte")
    ).to_be_visible()
    await check_page(page, "40-regroupement")
    await page.get_by_label("Identifiant de l'autre compte").fill(other_identifiant)
    await page.get_by_label("Mot de passe provisoire").fill("pas-le-bon")
    await page.get_by_role("button", name="Ajouter les enfants").click()
    await expect(page.get_by_text(WRONG_CREDENTIALS).first).to_be_visible()
    await expect(page.get_by_label("Identifiant de l'autre compte")).to_have_value(
        other_identifiant
    )
    await check_page(page, "41-regroupement-erreur")
    await page.get_by_label("Mot de passe provisoire").fill(other_provisional)
    await page.get_by_role("button", name="Ajouter les enfants").click()

    await expect(
        page.get_by_text("Les enfants de l'autre compte ont été ajoutés")
    ).to_be_visible()
    await check_page(page, "42-regroupement-page-intermediaire")
    await page.get_by_role("link", name="Ajout d'enfants").click()
    jade = page.locator("fieldset.child", has_text="Jade")
    await expect(jade).to_contain_text("Établissement 0999302L")
    await expect(jade).to_contain_text("SIECLE (second degré)")
    await expect(jade).to_contain_text("identiques à votre compte : nom et prénom")
    await expect(jade).not_to_contain_text("adresse électronique")
    await check_page(page, "43-regroupement-ajout-enfants")
    await jade.get_by_label("Date de naissance de Jade").fill("30/06/2014")
    await page.get_by_role("button", name="Enregistrer mes choix").click()
    await page.goto(base + "/portail")

    await expect(page.get_by_role("heading", name="Zoé LEROY")).to_be_visible()
    await expect(page.get_by_role("heading", name="Jade LEROY")).to_be_visible()
    assert await creation_system.link_states(college_record) == {
        "9800000022B": "confirmed"
    }
    connection = await asyncpg.connect(creation_system.stack.database_url)
    try:
        moves = await connection.fetch(
            "SELECT reason FROM identity.responsable_moves WHERE responsable_id = $1",
            college_record,
        )
    finally:
        await connection.close()
    assert [move["reason"] for move in moves] == ["grouping"]


@pytest.fixture(scope="module")
def haddad_client(creation_system):
    """An HTTP client logged in to Karim HADDAD's activated notice account."""
    record = asyncio.run(record_of(creation_system, "HADDAD", "Karim", "onde:"))
    identifiant, provisional = creation_system.notice(record)
    with httpx.Client(
        base_url=creation_system.identity_url, follow_redirects=True
    ) as client:
        activate(
            client,
            identifiant,
            provisional,
            email="karim.haddad@example.org",
            password="trois tortues traversent la route",
            birth_dates={"Adam": "02/12/2016"},
        )
        yield client


async def test_unknown_and_wrong_get_same_response(creation_system, haddad_client):
    other_identifiant, _ = creation_system.notice(OTHER_PERSON)

    unknown = send_grouping(haddad_client, "x.inconnu99", "abcdefgh")
    wrong = send_grouping(haddad_client, other_identifiant, "abcdefgh")

    assert unknown.status_code == wrong.status_code == 422
    assert WRONG_CREDENTIALS in text_of(unknown)
    assert text_of(unknown).replace("x.inconnu99", other_identifiant) == text_of(wrong)


async def test_other_name_is_refused(creation_system, haddad_client):
    other_identifiant, other_provisional = creation_system.notice(OTHER_PERSON)

    answer = send_grouping(haddad_client, other_identifiant, other_provisional)
    account = haddad_client.get("/mon-compte")

    assert answer.status_code == 422
    assert "compte au nom d'une autre personne" in text_of(answer)
    assert "Maël" not in text_of(account)
    assert await creation_system.account(OTHER_PERSON) is not None
