"""Input no parent types on purpose (control characters, very long values,
forms posted from another site) gets a clear response, never a server error.
An activation stopped half-way can be finished."""

from datetime import date, datetime

import asyncpg
import httpx
import pytest

from services.identity.forms import MESSAGES
from services.identity.links_client import Choice, LinksClient
from tests.e2e.pages import (
    activate,
    children_on_form,
    csrf_token,
    error_messages,
    log_in,
    text_of,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Responsables with one child each, whose accounts no other test uses.
CONTROL_CHARACTER_PARENT = "siecle:7100004"
HALF_ACTIVATED_PARENT = "siecle:7100005"
PASSWORD_CHANGE_PARENT = "siecle:7100008"
PASSWORD_GUESS_PARENT = "siecle:7100018"
PASSWORD = "le train de midi part en retard"
# Longer than the 72 characters zxcvbn accepts.
LONG_PASSWORD = ("une tasse de thé sous la pluie de novembre " * 3)[:128]


async def children_of(sample_system, responsable_id: str) -> dict[str, dict]:
    """Return the link id and birth date (JJ/MM/AAAA) of each of the
    responsable's children, by first name."""
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT e.prenom, l.link_id, e.date_naissance FROM links.links l"
            " JOIN links.eleves e USING (eleve_id) WHERE l.responsable_id = $1",
            responsable_id,
        )
    finally:
        await connection.close()
    assert rows, f"{responsable_id} has no link in the samples"
    return {
        row["prenom"]: {
            "link_id": row["link_id"],
            "birth_date": row["date_naissance"].strftime("%d/%m/%Y"),
        }
        for row in rows
    }


async def test_control_character_in_email_rejected(sample_system, new_client):
    identifiant, provisional = sample_system.notice(CONTROL_CHARACTER_PARENT)
    children = await children_of(sample_system, CONTROL_CHARACTER_PARENT)
    states_before = await sample_system.link_states(CONTROL_CHARACTER_PARENT)
    client = new_client()
    form_page = log_in(client, identifiant, provisional)
    fields = {
        "csrf_token": csrf_token(form_page),
        "email": "a\x00b@exemple.fr",
        "email_confirmation": "a\x00b@exemple.fr",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
    }
    for child in children.values():
        fields[f"choix-{child['link_id']}"] = "oui"
        fields[f"naissance-{child['link_id']}"] = child["birth_date"]

    answer = client.post("/activation", data=fields)

    assert answer.status_code == 422
    assert MESSAGES["control_character"] in error_messages(answer)
    assert await sample_system.link_states(CONTROL_CHARACTER_PARENT) == states_before
    assert (await sample_system.account(CONTROL_CHARACTER_PARENT))[
        "activated_at"
    ] is None


async def test_half_done_activation_can_be_finished(sample_system, new_client):
    identifiant, provisional = sample_system.notice(HALF_ACTIVATED_PARENT)
    children = await children_of(sample_system, HALF_ACTIVATED_PARENT)
    # What an attempt that stopped after the links service applied its
    # decisions, before the account was stored, leaves behind.
    links = LinksClient(
        sample_system.links_url, sample_system.stack.secrets.internal_token
    )
    try:
        rejected = await links.decide(
            HALF_ACTIVATED_PARENT,
            [
                Choice(child["link_id"], "confirm", _iso(child["birth_date"]))
                for child in children.values()
            ],
            screen="activation",
            dry_run=False,
        )
    finally:
        await links.close()
    assert rejected == {}
    client = new_client()

    form_page = log_in(client, identifiant, provisional)
    assert form_page.url.path == "/activation"
    assert children_on_form(form_page) == {}
    assert "Aucun enfant" not in text_of(form_page)
    assert all(prenom in text_of(form_page) for prenom in children)
    strength = client.post(
        "/mot-de-passe/force",
        data={"csrf_token": csrf_token(form_page), "password": LONG_PASSWORD},
    )
    assert strength.status_code == 200
    assert strength.json()["message"] is None
    answer = client.post(
        "/activation",
        data={
            "csrf_token": csrf_token(form_page),
            "email": "parent.recommence@example.org",
            "email_confirmation": "parent.recommence@example.org",
            "password": LONG_PASSWORD,
            "password_confirmation": LONG_PASSWORD,
        },
    )

    assert answer.url.path == "/portail", text_of(answer)
    account = await sample_system.account(HALF_ACTIVATED_PARENT)
    assert account["activated_at"] is not None
    assert account["email"] == "parent.recommence@example.org"
    assert log_in(new_client(), identifiant, LONG_PASSWORD).url.path == "/portail"


def _iso(french_date: str) -> date:
    return datetime.strptime(french_date, "%d/%m/%Y").date()


async def _activated(sample_system, new_client, responsable_id: str):
    identifiant, provisional = sample_system.notice(responsable_id)
    children = await children_of(sample_system, responsable_id)
    client = new_client()
    activate(
        client,
        identifiant,
        provisional,
        email=f"parent.{responsable_id.removeprefix('siecle:')}@example.org",
        password=PASSWORD,
        birth_dates={prenom: child["birth_date"] for prenom, child in children.items()},
    )
    return identifiant, client


def _change_password(client: httpx.Client, current: str, new: str) -> httpx.Response:
    account_page = client.get("/mon-compte")
    return client.post(
        "/mon-compte/mot-de-passe",
        data={
            "csrf_token": csrf_token(account_page),
            "current_password": current,
            "password": new,
            "password_confirmation": new,
        },
    )


async def test_password_change_ends_other_sessions(sample_system, new_client):
    identifiant, client = await _activated(
        sample_system, new_client, PASSWORD_CHANGE_PARENT
    )
    other_browser = new_client()
    assert log_in(other_browser, identifiant, PASSWORD).url.path == "/portail"
    cookie_before = client.cookies.get("educonnect_session")

    done = _change_password(client, PASSWORD, LONG_PASSWORD)

    assert done.url.path == "/mon-compte"
    assert "Votre mot de passe a été modifié." in text_of(done)
    assert client.cookies.get("educonnect_session") not in (None, cookie_before)
    assert other_browser.get("/mon-compte").url.path == "/connexion"
    assert log_in(new_client(), identifiant, LONG_PASSWORD).url.path == "/portail"


async def test_wrong_current_passwords_are_throttled(sample_system, new_client):
    identifiant, client = await _activated(
        sample_system, new_client, PASSWORD_GUESS_PARENT
    )

    for _ in range(5):
        wrong = _change_password(client, "pas le mot de passe", LONG_PASSWORD)
        assert wrong.status_code == 422
    held_back = _change_password(client, PASSWORD, LONG_PASSWORD)

    assert held_back.status_code == 429
    assert "Trop de tentatives de connexion ont échoué" in text_of(held_back)
    assert log_in(new_client(), identifiant, PASSWORD).status_code == 429


@pytest.mark.parametrize(
    "identifiant",
    ["nul.\x00identifiant", "tres.long" + "x" * 3000],
    ids=["NUL", "3 KB"],
)
async def test_impossible_identifiant_counted_as_failure(
    sample_system, new_client, identifiant
):
    client = new_client()

    for _ in range(5):
        failed = log_in(client, identifiant, "pas le bon mot de passe")
        assert failed.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in text_of(failed)
    held_back = log_in(client, identifiant, "pas le bon mot de passe")

    assert held_back.status_code == 429


async def test_cookieless_post_keeps_session_cookie(
    sample_system,
):
    # As a form posted from another site: the lax cookie is not sent.
    answer = httpx.post(
        sample_system.identity_url + "/deconnexion", data={"csrf_token": "x"}
    )

    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers


@pytest.mark.parametrize(
    "correlation_id",
    ["x" * 60_000, "id avec espaces", "id;forgé=1"],
    ids=["60 KB", "spaces", "punctuation"],
)
async def test_unsafe_correlation_id_is_replaced(sample_system, correlation_id):
    page = httpx.get(
        sample_system.identity_url + "/connexion",
        headers={"X-Correlation-ID": correlation_id.encode("latin-1", "replace")},
    )

    assert page.status_code == 200
    assert page.headers["x-correlation-id"] != correlation_id
    assert len(page.headers["x-correlation-id"]) <= 64


async def test_safe_correlation_id_is_kept(sample_system):
    page = httpx.get(
        sample_system.identity_url + "/connexion",
        headers={"X-Correlation-ID": "guichet-42.a_b"},
    )

    assert page.headers["x-correlation-id"] == "guichet-42.a_b"


async def test_strength_meter_rejects_a_huge_password(sample_system, new_client):
    client = new_client()
    login_page = client.get("/connexion")

    answer = client.post(
        "/mot-de-passe/force",
        data={"csrf_token": csrf_token(login_page), "password": "x" * 100_000},
    )

    assert answer.status_code == 200
    assert answer.json()["message"] == MESSAGES["password_long"]
