"""The activation journey in a real headless Chromium, clicking through the
pages as a parent would."""

import pytest
from playwright.async_api import expect

from tests.e2e.browser import check_page

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

SIECLE_TEAM = "diffusion-siecle@ac-versailles.example"

# Sophie DUPONT, legal representative of Mickaël (07/01/2013) and François.
RESPONSABLE = "siecle:7100031"
FRANCOIS_INE = "9900000022S"
PASSWORD = "trois mots faciles à retenir"


async def test_parent_activates_account_in_browser(sample_system, page):
    identifiant, provisional = sample_system.notice(RESPONSABLE)

    await page.goto(sample_system.identity_url + "/connexion")
    await check_page(page, "01-connexion")
    await page.get_by_label("Identifiant").fill(identifiant)
    await page.get_by_label("Mot de passe").fill(provisional)
    await page.get_by_role("button", name="Se connecter").click()

    await expect(
        page.get_by_role("heading", name="Activation du compte")
    ).to_be_visible()
    await page.get_by_label("Adresse électronique", exact=True).fill(
        "sophie.dupont@example.org"
    )
    await page.get_by_label("Confirmation de l'adresse électronique").fill(
        "sophie.dupont@example.org"
    )
    await page.get_by_label("Nouveau mot de passe").fill(PASSWORD)
    await page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    mickael = page.locator("fieldset.child", has_text="Mickaël")
    francois = page.locator("fieldset.child", has_text="François")
    await expect(mickael.get_by_label("Oui", exact=True)).to_be_checked()
    await mickael.get_by_label("Date de naissance de Mickaël").fill("07/01/2013")
    # The design system draws the radio button inside its label, so the
    # parent clicks the label.
    await francois.get_by_text("Non", exact=True).click()
    await expect(francois.get_by_label("Non", exact=True)).to_be_checked()
    await expect(francois.get_by_label("Date de naissance de François")).to_be_hidden()
    await check_page(page, "02-activation")
    await page.get_by_role("button", name="Activer mon compte").click()

    await expect(
        page.get_by_text("Vous ne pourrez plus accéder aux téléservices")
    ).to_be_visible()
    await expect(
        page.get_by_role("listitem").filter(has_text="François")
    ).to_be_visible()
    await check_page(page, "03-confirmation")
    await page.get_by_role("button", name="Valider").click()

    await expect(page.get_by_role("heading", name="Mes enfants")).to_be_visible()
    await expect(page.get_by_role("heading", name="Mickaël DUPONT")).to_be_visible()
    await expect(page.get_by_text("François")).to_have_count(0)
    await check_page(page, "04-portail")

    mail = sample_system.mail.wait_for(
        lambda mail: mail.is_to(SIECLE_TEAM) and FRANCOIS_INE in mail.text_body(),
        timeout=60,
    )
    assert "DUPONT" in mail.text_body()
