"""Locking, *Mot de passe oublié* and the e-mail change in a real headless
Chromium: each new page is checked with axe-core and kept as a screenshot."""

import pytest
from playwright.async_api import expect

from services.identity.forms import MESSAGES
from tests.e2e.browser import check_page
from tests.e2e.test_email_change import verification_link
from tests.e2e.test_password_reset import (
    PASSWORD,
    execute,
    forget_address_failures,  # noqa: F401 (an autouse fixture of this module too)
    make_account,
    reset_links,
    unique_email,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

NEW_PASSWORD = "une tasse de thé sous la pluie"


async def log_in(page, base_url: str, login: str, password: str) -> None:
    """Log in with the keyboard alone: Tab between fields, Enter to send."""
    await page.goto(base_url + "/connexion")
    await page.get_by_label("Identifiant").focus()
    await page.keyboard.type(login)
    await page.keyboard.press("Tab")
    await page.keyboard.type(password)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def test_locked_parent_resets_password_in_browser(sample_system, page):
    base = sample_system.identity_url
    email = unique_email()
    account = await make_account(sample_system, email=email)

    for _ in range(6):
        await log_in(page, base, account["identifiant"], "pas le bon mot de passe")
    await expect(page.get_by_text("votre compte est donc verrouillé")).to_be_visible()
    await check_page(page, "60-connexion-verrouillee")

    await page.get_by_role("link", name="Mot de passe oublié ?").click()
    await expect(
        page.get_by_role("heading", name="Mot de passe oublié")
    ).to_be_visible()
    await check_page(page, "61-mot-de-passe-oublie")
    await page.get_by_role("button", name="Recevoir un lien").click()
    await expect(page.get_by_text(MESSAGES["login_missing"]).first).to_be_visible()
    await check_page(page, "62-mot-de-passe-oublie-erreur")
    await page.get_by_label("Identifiant ou adresse électronique").focus()
    await page.keyboard.type(email.upper())
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Demande enregistrée")).to_be_visible()
    await check_page(page, "63-mot-de-passe-oublie-envoye")

    [path] = reset_links(sample_system, email)
    await page.goto(base + path)
    await expect(
        page.get_by_role("heading", name="Choisir un nouveau mot de passe")
    ).to_be_visible()
    await check_page(page, "64-nouveau-mot-de-passe")
    await page.get_by_label("Nouveau mot de passe", exact=True).fill("azertyuiop12")
    await page.get_by_label("Confirmation du nouveau mot de passe").fill("azertyuiop12")
    await page.get_by_role(
        "button", name="Enregistrer mon nouveau mot de passe"
    ).click()
    await expect(
        page.get_by_text("Ce mot de passe est trop facile à deviner").first
    ).to_be_visible()
    await check_page(page, "65-nouveau-mot-de-passe-erreur")
    await page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Confirmation du nouveau mot de passe").fill(NEW_PASSWORD)
    await page.get_by_role(
        "button", name="Enregistrer mon nouveau mot de passe"
    ).click()
    await expect(
        page.get_by_role("heading", name="Votre mot de passe a été modifié")
    ).to_be_visible()
    await check_page(page, "66-mot-de-passe-modifie")

    await page.goto(base + path)
    await expect(page.get_by_text("Ce lien n'est plus valable")).to_be_visible()
    await check_page(page, "67-lien-invalide")

    await log_in(page, base, account["identifiant"], NEW_PASSWORD)
    await expect(page.get_by_role("heading", name="Mes enfants")).to_be_visible()
    await page.get_by_role("link", name="Mon compte").first.click()
    change = page.locator("#formulaire-adresse")
    new_email = unique_email("nouvelle.adresse")
    await change.get_by_label("Nouvelle adresse électronique", exact=True).fill(
        new_email
    )
    await change.get_by_label("Confirmation de la nouvelle adresse").fill(
        "autre@example.org"
    )
    await change.get_by_label("Mot de passe actuel").fill(NEW_PASSWORD)
    await change.get_by_role("button", name="Changer mon adresse électronique").click()
    await expect(page.get_by_text(MESSAGES["email_mismatch"]).first).to_be_visible()
    await expect(
        page.locator("#formulaire-adresse").get_by_label(
            "Nouvelle adresse électronique", exact=True
        )
    ).to_have_value(new_email)
    await check_page(page, "68-mon-compte-adresse-erreur")
    change = page.locator("#formulaire-adresse")
    await change.get_by_label("Confirmation de la nouvelle adresse").fill(new_email)
    await change.get_by_label("Mot de passe actuel").fill(NEW_PASSWORD)
    await change.get_by_role("button", name="Changer mon adresse électronique").click()
    await expect(
        page.get_by_text("Un lien de confirmation a été envoyé")
    ).to_be_visible()
    await check_page(page, "69-mon-compte-adresse-envoyee")

    await page.goto(base + verification_link(sample_system, new_email))
    await expect(
        page.get_by_role("heading", name="Votre adresse électronique a été modifiée")
    ).to_be_visible()
    await check_page(page, "70-adresse-confirmee")


async def test_disabled_account_message_in_browser(sample_system, page):
    account = await make_account(sample_system, email=unique_email())
    await execute(
        sample_system,
        "UPDATE identity.accounts SET disabled_at = now() WHERE account_id = $1",
        account["account_id"],
    )

    await log_in(page, sample_system.identity_url, account["identifiant"], PASSWORD)

    await expect(page.get_by_text("Ce compte a été désactivé")).to_be_visible()
    await check_page(page, "71-connexion-desactivee")
