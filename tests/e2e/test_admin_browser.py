"""*Administration des comptes* in a real headless Chromium, with the keyboard
alone. A chef d'établissement activates their account, goes through the
classes, disables and re-enables a responsable's account and opens the
notices to print. An IEN reads the statistics of their circonscription.
Each page is checked with axe-core and kept as a screenshot."""

import pytest
from playwright.async_api import expect

from tests.e2e.browser import check_page

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

SCHOOL = "0999101E"
PASSWORD = "le tableau noir est couvert de craie"
# Class 6A: Noé DUBOIS's mother, MME Sophie DUBOIS (siecle:7100025), whose
# account no other test uses.
CLASSE = "6A"
RESPONSABLE = "siecle:7100025"


async def log_in(page, base_url: str, identifiant: str, password: str) -> None:
    """Log in with the keyboard alone: Tab between fields, Enter to send."""
    await page.goto(base_url + "/connexion")
    await page.get_by_label("Identifiant").focus()
    await page.keyboard.type(identifiant)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def activate(page, name: str) -> None:
    await expect(
        page.get_by_role("heading", name="Activation de votre compte personnel")
    ).to_be_visible()
    await page.get_by_label("Nouveau mot de passe").press_sequentially(PASSWORD)
    await expect(page.get_by_text("Force du mot de passe : Très fort.")).to_be_visible()
    await page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    await check_page(page, name)
    await page.get_by_label("Confirmation du mot de passe").press("Enter")


async def test_chef_etablissement_journey(sample_system, page):
    identifiant, provisional = sample_system.staff_account("directeur", SCHOOL)
    base = sample_system.identity_url
    mother = await sample_system.account(RESPONSABLE)

    await log_in(page, base, identifiant, provisional)
    await activate(page, "30-administration-activation")

    await expect(
        page.get_by_role("heading", name="Administration des comptes")
    ).to_be_visible()
    await expect(page.get_by_role("table")).to_contain_text("Classe 6B")
    await check_page(page, "31-administration-etablissement")
    await page.get_by_role("link", name=f"Classe {CLASSE}").focus()
    await page.keyboard.press("Enter")

    await expect(page.get_by_role("heading", name=f"Classe {CLASSE}")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=mother["identifiant"])
    await expect(row).to_contain_text("non activé")
    await expect(row).to_contain_text("proposé")
    await check_page(page, "32-administration-classe")
    await row.get_by_role("button", name="Désactiver le compte de").focus()
    await page.keyboard.press("Enter")

    await expect(page.get_by_text("est désactivé.")).to_be_visible()
    await expect(row).to_contain_text("désactivé")
    await check_page(page, "33-administration-compte-desactive")
    await row.get_by_role("button", name="Réactiver le compte de").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("est réactivé.")).to_be_visible()
    assert (await sample_system.account(RESPONSABLE))["disabled_at"] is None

    await page.get_by_role("link", name="Imprimer les notices de la classe").click()
    _, provisional_of_mother = sample_system.notice(RESPONSABLE)
    notice = page.get_by_role("region").filter(has_text=mother["identifiant"])
    await expect(notice).to_contain_text(provisional_of_mother)
    await check_page(page, "34-administration-notices")
    await page.emulate_media(media="print")
    await expect(page.get_by_role("link", name="Retour à la liste")).to_be_hidden()
    await expect(notice).to_be_visible()
    await page.emulate_media(media="screen")


async def test_ien_statistics_page(sample_system, page):
    identifiant, provisional = sample_system.staff_account("ien", "0999-NORD")
    base = sample_system.identity_url

    await log_in(page, base, identifiant, provisional)
    await activate(page, "35-administration-ien-activation")

    await expect(page.get_by_text("Circonscription fictive Nord")).to_be_visible()
    await expect(page.get_by_role("row").filter(has_text=SCHOOL)).to_contain_text("%")
    await expect(page.get_by_role("row").filter(has_text="0999102F")).to_have_count(0)
    await check_page(page, "36-administration-statistiques")
