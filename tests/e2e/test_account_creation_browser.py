"""Creating an account without a notice in a real headless Chromium: from the
login page to the portal of a parent whose children are in an école (ONDE)
and in a collège (SIECLE), then *Mon compte* across both records. Each page
is checked with axe-core and kept as a screenshot."""

import re

import pytest
from playwright.async_api import expect

from tests.e2e.browser import check_page
from tests.e2e.test_account_creation import sms_code, sms_to

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

# Martin DUBOIS of the creation export: Léa (12/05/2018) in école 0999301K,
# Hugo (14/02/2012) in collège 0999302L, both with this mobile number. His
# homonym with another number has Tom, who must not be proposed.
MOBILE = "0639981001"
PASSWORD = "un phare blanc sur la falaise"


async def test_parent_creates_account_with_sms_code(creation_system, page):
    base = creation_system.identity_url
    seen = len(sms_to(creation_system, MOBILE))

    await page.goto(base + "/connexion")
    await page.get_by_role(
        "link", name=re.compile("Je n'ai pas reçu de notice")
    ).click()
    await expect(
        page.get_by_role("heading", name="Créer mon compte sans notice")
    ).to_be_visible()
    await page.get_by_role("button", name="Recevoir un code par SMS").click()
    await expect(
        page.get_by_text("Saisissez votre nom de famille.").first
    ).to_be_visible()
    await check_page(page, "30-creation-erreur")
    await page.get_by_label("Nom de famille").fill("Dubois")
    await page.get_by_label("Prénom").fill("Martin")
    await page.get_by_label("Téléphone portable").fill("06 39 98 10 01")
    await check_page(page, "31-creation")
    await page.get_by_role("button", name="Recevoir un code par SMS").click()

    await expect(
        page.get_by_role("heading", name="Saisir le code reçu par SMS")
    ).to_be_visible()
    await expect(page.get_by_text("se terminant par 01")).to_be_visible()
    await check_page(page, "32-creation-code")
    code = sms_code(creation_system, MOBILE, seen)
    wrong = "000000" if code != "000000" else "111111"
    await page.get_by_label("Code reçu par SMS").fill(wrong)
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Il vous reste 4 essais.").first).to_be_visible()
    await check_page(page, "33-creation-code-erreur")
    await page.get_by_label("Code reçu par SMS").fill(code)
    await page.get_by_role("button", name="Valider le code").click()

    await expect(
        page.get_by_role("heading", name="Votre compte est créé")
    ).to_be_visible()
    identifiant = await page.locator(".identifiant").inner_text()
    assert identifiant.startswith("m.dubois")
    await check_page(page, "34-compte-cree")
    await page.get_by_role("link", name="Activer mon compte").click()

    await expect(
        page.get_by_role("heading", name="Activation du compte")
    ).to_be_visible()
    lea = page.locator("fieldset.child", has_text="Léa")
    hugo = page.locator("fieldset.child", has_text="Hugo")
    await expect(page.locator("fieldset.child", has_text="Tom")).to_have_count(0)
    await expect(lea).to_contain_text("École 0999301K")
    await expect(lea).to_contain_text("ONDE (premier degré)")
    await expect(hugo).to_contain_text("Établissement 0999302L")
    await expect(hugo).to_contain_text("SIECLE (second degré)")
    for child in (lea, hugo):
        await expect(child).to_contain_text(
            "identiques à votre compte : nom et prénom, téléphone portable"
        )
    await page.get_by_label("Adresse électronique", exact=True).fill(
        "martin.dubois@example.org"
    )
    await page.get_by_label("Confirmation de l'adresse électronique").fill(
        "martin.dubois@example.org"
    )
    await page.get_by_label("Nouveau mot de passe").fill(PASSWORD)
    await page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    await lea.get_by_label("Date de naissance de Léa").fill("12/05/2018")
    await hugo.get_by_label("Date de naissance de Hugo").fill("14/02/2012")
    await check_page(page, "35-activation-apres-creation")
    await page.get_by_role("button", name="Activer mon compte").click()

    await expect(page.get_by_role("heading", name="Léa DUBOIS")).to_be_visible()
    await expect(page.get_by_role("heading", name="Hugo DUBOIS")).to_be_visible()
    await expect(page.get_by_text("(premier degré)")).to_have_count(1)
    await expect(page.get_by_text("(second degré)")).to_have_count(1)
    await check_page(page, "36-portail-apres-creation")

    await page.get_by_role("link", name="Mon compte").first.click()
    await expect(page.get_by_role("heading", name="Hugo DUBOIS")).to_be_visible()
    await expect(page.get_by_role("heading", name="Léa DUBOIS")).to_be_visible()
    await expect(page.get_by_text(identifiant, exact=True)).to_be_visible()
    await check_page(page, "37-mon-compte-apres-creation")
