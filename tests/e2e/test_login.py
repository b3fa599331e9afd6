"""The login page: one answer for unknown identifiants and wrong passwords,
session cookies out of scripts' reach, and the security headers."""

import httpx
import pytest

from tests.e2e.pages import log_in, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Jérôme ROUSSEAU, whose account no other test activates.
RESPONSABLE = "siecle:7100016"


async def test_unknown_identifiant_and_wrong_password_look_alike(
    sample_system, new_client
):
    identifiant, _ = sample_system.notice(RESPONSABLE)
    client = new_client()

    wrong_password = log_in(client, identifiant, "pas le bon mot de passe")
    unknown = log_in(client, "personne.inconnue99", "pas le bon mot de passe")

    assert wrong_password.status_code == unknown.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in text_of(wrong_password)
    assert text_of(wrong_password).replace(identifiant, "X") == text_of(
        unknown
    ).replace("personne.inconnue99", "X")


async def test_login_renews_the_session_cookie(sample_system, new_client):
    identifiant, provisional = sample_system.notice(RESPONSABLE)
    client = new_client()
    client.get("/connexion")
    before = client.cookies.get("educonnect_session")

    log_in(client, identifiant, provisional)

    assert client.cookies.get("educonnect_session") not in (None, before)


async def test_session_cookie_is_httponly_and_samesite(sample_system, new_client):
    page = httpx.get(sample_system.identity_url + "/connexion")

    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_pages_carry_security_headers(sample_system, new_client):
    page = httpx.get(sample_system.identity_url + "/connexion")

    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_portal_requires_login(sample_system, new_client):
    page = httpx.get(sample_system.identity_url + "/portail", follow_redirects=True)

    assert page.url.path == "/connexion"


async def test_links_api_rejects_calls_without_token(sample_system, new_client):
    answer = httpx.get(
        f"{sample_system.links_url}/internal/responsables/{RESPONSABLE}/links"
    )

    assert answer.status_code == 401


async def test_unknown_addresses_get_french_pages(sample_system, new_client):
    client = new_client()

    unknown = client.get("/page-inexistante")
    form_address = client.get("/deconnexion")
    malformed = client.get(
        "/administration/ecoles/0999101E/notices", params={"compte": "pas-un-id"}
    )

    assert unknown.status_code == 404
    assert "Cette page n'existe pas." in text_of(unknown)
    assert form_address.status_code == 405
    assert "Cette adresse ne s'ouvre pas directement." in text_of(form_address)
    for page in (unknown, form_address):
        assert page.headers["content-type"].startswith("text/html")
        assert "Retour à la page de connexion" in text_of(page)
    assert malformed.status_code == 400
    assert "La demande contient une valeur non valable." in text_of(malformed)
    assert "pas-un-id" not in malformed.text
