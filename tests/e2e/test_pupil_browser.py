"""A pupil's journey in a real headless Chromium: login with the notice, the
pupils' activation with its strength meter, the portal, *Mon compte* and a
téléservice's return, each page checked with axe-core and kept as a
screenshot."""

import pytest
from playwright.async_api import expect

from tests.e2e.browser import check_page
from tests.e2e.test_pupil_login import PASSWORD as PUPIL_PASSWORD
from tests.e2e.test_pupil_login import activate_pupil, mark_school_removed

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

# Louis CHEVALIER, collège 0999101E, class 6B; no other test logs him in.
ELEVE = "9900000026B"
PASSWORD = "mon vélo rouge grimpe la colline"
RETURN_ADDRESS = "https://ent.teleservices.example/eleve/agenda"


async def log_in(page, base_url: str, identifiant: str, password: str) -> None:
    """Log in with the keyboard alone: Tab between fields, Enter to send."""
    await page.goto(base_url + "/connexion")
    await page.get_by_label("Identifiant").focus()
    await page.keyboard.type(identifiant)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def test_pupil_journey_in_browser(sample_system, page):
    identifiant, provisional = sample_system.pupil_notice(ELEVE)
    base = sample_system.identity_url

    await log_in(page, base, identifiant, provisional)
    await expect(
        page.get_by_role("heading", name="Activation du compte élève")
    ).to_be_visible()
    await expect(page.get_by_label("Adresse électronique")).to_have_count(0)
    await page.get_by_label("Nouveau mot de passe").press_sequentially("azerty")
    await expect(
        page.get_by_text("Force du mot de passe : Très faible.")
    ).to_be_visible()
    await page.get_by_label("Confirmation du mot de passe").fill("azerty")
    await page.get_by_role("button", name="Activer mon compte").click()
    await expect(page.get_by_text("Le formulaire contient 1 erreur")).to_be_visible()
    await check_page(page, "40-eleve-activation-erreur")

    await page.get_by_label("Nouveau mot de passe").press_sequentially(PASSWORD)
    await expect(page.get_by_text("Force du mot de passe : Très fort.")).to_be_visible()
    await page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    await check_page(page, "41-eleve-activation")
    await page.get_by_label("Confirmation du mot de passe").press("Enter")

    await expect(
        page.get_by_role("heading", name="Bonjour Louis CHEVALIER")
    ).to_be_visible()
    await expect(
        page.get_by_text("Classe 6B – établissement 0999101E (second degré)")
    ).to_be_visible()
    await expect(
        page.get_by_role("link", name="Espace numérique de travail")
    ).to_be_visible()
    await expect(page.get_by_role("link", name="Demande de bourse")).to_have_count(0)
    await check_page(page, "42-eleve-portail")

    # The parents' screens are out of a pupil's reach, even typed by hand.
    await page.goto(base + "/actions-compte/enfants")
    await expect(page).to_have_url(base + "/portail")
    await page.goto(base + "/activation")
    await expect(page).to_have_url(base + "/portail")

    await page.get_by_role("link", name="Mon compte").first.click()
    await expect(page.get_by_role("heading", name="Mes informations")).to_be_visible()
    await expect(page.get_by_text(identifiant)).to_be_visible()
    await expect(page.get_by_role("heading", name="Mes enfants")).to_have_count(0)
    await check_page(page, "43-eleve-mon-compte")

    await page.goto(base + "/mon-compte?retour=" + RETURN_ADDRESS)
    back = page.get_by_role(
        "link", name="Retour au téléservice Espace numérique de travail"
    )
    await expect(back).to_have_attribute("href", RETURN_ADDRESS)
    await check_page(page, "44-eleve-mon-compte-retour")
    await page.get_by_role("button", name="Se déconnecter").click()

    await log_in(page, base, identifiant, PASSWORD)
    await expect(
        page.get_by_role("heading", name="Bonjour Louis CHEVALIER")
    ).to_be_visible()


async def test_removed_pupil_portal_in_browser(sample_system, page, new_client):
    # Rémi BERNARD, collège 0999101E, whose school then no longer enrols him.
    eleve = "9900000027K"
    activate_pupil(new_client(), sample_system, eleve)
    identifiant = (await sample_system.pupil_account(eleve))["identifiant"]
    await mark_school_removed(sample_system, eleve)

    await log_in(page, sample_system.identity_url, identifiant, PUPIL_PASSWORD)

    await expect(
        page.get_by_text("ne vous compte plus parmi ses élèves")
    ).to_be_visible()
    await check_page(page, "45-eleve-portail-sans-inscription")
