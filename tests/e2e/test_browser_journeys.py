"""The journeys after activation in a real headless Chromium: the strength
meter, the page intermédiaire, the portal's services and *Mon compte*, each
page checked with axe-core and kept as a screenshot."""

import pytest
from playwright.async_api import expect

from tests.e2e.browser import check_page

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

# Céline LAMBERT, legal representative of Jules (13/11/2011, collège 0999101E)
# and Margaux (13/08/2014, collège 0999102F) ROUSSEAU.
RESPONSABLE = "siecle:7100015"
PASSWORD = "le chat dort sur le radiateur"


async def log_in(page, base_url: str, identifiant: str, password: str) -> None:
    """Log in with the keyboard alone: Tab between fields, Enter to send."""
    await page.goto(base_url + "/connexion")
    await page.get_by_label("Identifiant").focus()
    await page.keyboard.type(identifiant)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")


async def test_parent_journeys_in_browser(sample_system, page):
    identifiant, provisional = sample_system.notice(RESPONSABLE)
    base = sample_system.identity_url

    await page.goto(base + "/connexion")
    await check_page(page, "10-connexion")
    await log_in(page, base, identifiant, "pas le bon mot de passe")
    await expect(
        page.get_by_text("Identifiant ou mot de passe incorrect.")
    ).to_be_visible()
    await check_page(page, "11-connexion-erreur")

    await page.goto(base + "/connexion")
    forged = "input => { input.value = 'pas-le-bon-jeton'; }"
    await page.locator('input[name="csrf_token"]').evaluate(forged)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_text("Le formulaire a expiré.")).to_be_visible()
    await check_page(page, "20-erreur")

    await log_in(page, base, identifiant, provisional)
    await expect(
        page.get_by_role("heading", name="Activation du compte")
    ).to_be_visible()
    await page.get_by_label("Adresse électronique", exact=True).fill(
        "celine.lambert@example.com"
    )
    await page.get_by_label("Confirmation de l'adresse électronique").fill(
        "celine.lambert@example.com"
    )
    await page.get_by_label("Nouveau mot de passe").press_sequentially("azerty")
    await expect(
        page.get_by_text("Force du mot de passe : Très faible.")
    ).to_be_visible()
    await page.get_by_label("Nouveau mot de passe").fill("")
    await page.get_by_label("Nouveau mot de passe").press_sequentially(PASSWORD)
    await expect(page.get_by_text("Force du mot de passe : Très fort.")).to_be_visible()
    await page.get_by_label("Confirmation du mot de passe").fill(PASSWORD)
    jules = page.locator("fieldset.child", has_text="Jules")
    margaux = page.locator("fieldset.child", has_text="Margaux")
    await expect(jules.get_by_text("Établissement 0999101E, classe 3A")).to_be_visible()
    await jules.get_by_label("Date de naissance de Jules").fill("13/11/2011")
    # The radio buttons respond to the arrow keys, for parents without a mouse.
    await margaux.get_by_label("Oui", exact=True).focus()
    await page.keyboard.press("ArrowRight")
    await expect(margaux.get_by_label("Non", exact=True)).to_be_checked()
    await expect(margaux.get_by_label("Date de naissance de Margaux")).to_be_hidden()
    await check_page(page, "12-activation")
    await page.get_by_role("button", name="Activer mon compte").click()

    await expect(page.get_by_role("button", name="Valider")).to_be_visible()
    await check_page(page, "13-confirmation")
    await page.get_by_role("button", name="Valider").click()

    await expect(page.get_by_role("heading", name="Jules ROUSSEAU")).to_be_visible()
    await expect(page.get_by_role("link", name="Orientation")).to_be_visible()
    await check_page(page, "14-portail")
    await page.get_by_role("button", name="Se déconnecter").click()

    await log_in(page, base, identifiant, PASSWORD)
    await expect(
        page.get_by_role(
            "heading",
            name="Nous avons identifié des actions à effectuer sur votre compte",
        )
    ).to_be_visible()
    await check_page(page, "15-page-intermediaire")
    await page.get_by_role("link", name="Ajout d'enfants").click()

    margaux = page.locator("fieldset.child", has_text="Margaux")
    await expect(
        margaux.get_by_text("Établissement 0999102F, classe 6EME1")
    ).to_be_visible()
    await margaux.get_by_text("Oui", exact=True).click()
    await margaux.get_by_label("Date de naissance de Margaux").fill("14/08/2014")
    await page.get_by_role("button", name="Enregistrer mes choix").click()
    await expect(
        page.get_by_text(
            "La date de naissance saisie ne correspond pas à celle connue"
        ).first
    ).to_be_visible()
    await check_page(page, "16-ajout-enfants-erreur")
    await margaux.get_by_label("Date de naissance de Margaux").fill("13/08/2014")
    await page.get_by_role("button", name="Enregistrer mes choix").click()

    await expect(page.get_by_text("Vos choix ont été enregistrés")).to_be_visible()
    await expect(page.get_by_role("link", name="Ajout d'enfants")).to_have_count(0)
    await check_page(page, "17-page-intermediaire-terminee")
    await page.get_by_role("link", name="Accéder à mes services").click()
    await expect(page.get_by_role("heading", name="Margaux ROUSSEAU")).to_be_visible()

    await page.get_by_role("link", name="Mon compte").first.click()
    await expect(page.get_by_role("heading", name="Mes informations")).to_be_visible()
    await expect(page.get_by_text(identifiant)).to_be_visible()
    await check_page(page, "18-mon-compte")
    await page.get_by_role(
        "button", name="Je ne suis pas le représentant légal de Margaux"
    ).click()
    await expect(
        page.get_by_role("listitem").filter(has_text="Margaux")
    ).to_be_visible()
    await page.get_by_role("button", name="Valider").click()

    await expect(page.get_by_text("à votre compte est retiré")).to_be_visible()
    await expect(
        page.get_by_role("button", name="Je ne suis pas le représentant légal de Jules")
    ).to_have_count(0)
    await check_page(page, "19-mon-compte-apres-refus")
    await page.get_by_role("link", name="Mes services").click()
    await expect(page.get_by_role("heading", name="Margaux ROUSSEAU")).to_have_count(0)
