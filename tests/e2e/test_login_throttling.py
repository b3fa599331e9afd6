"""Login throttling: after 5 failures the identifiant waits more than a
minute, before any password is checked, with the same response whether an
account has the identifiant or not."""

import asyncio

import httpx
import pytest

from tests.e2e.pages import csrf_token, log_in, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Frédéric GAUTIER, whose account no other test uses.
RESPONSABLE = "siecle:7100054"
# Karim ROBIN's account, used by no other test.
OTHER_RESPONSABLE = "siecle:7100062"
UNKNOWN = "personne.inexistante42"


async def test_sixth_attempt_held_back_even_if_right(sample_system, new_client):
    identifiant, provisional = sample_system.notice(RESPONSABLE)
    client = new_client()

    for _ in range(5):
        assert log_in(client, identifiant, "pas le bon mot de passe").status_code == 401
    held_back = log_in(client, identifiant, provisional)

    assert held_back.status_code == 429
    assert held_back.url.path == "/connexion"
    assert "Trop de tentatives de connexion ont échoué" in text_of(held_back)
    assert "réessayez dans 2 minutes" in text_of(held_back)
    assert log_in(new_client(), identifiant.upper(), provisional).status_code == 429


async def test_unknown_identifiant_is_held_back_the_same_way(sample_system, new_client):
    identifiant, _ = sample_system.notice(OTHER_RESPONSABLE)
    client = new_client()

    for typed in (UNKNOWN, identifiant):
        for _ in range(5):
            assert log_in(client, typed, "pas le bon mot de passe").status_code == 401
    unknown = log_in(client, UNKNOWN, "pas le bon mot de passe")
    known = log_in(client, identifiant, "pas le bon mot de passe")

    assert unknown.status_code == known.status_code == 429
    assert text_of(unknown).replace(UNKNOWN, "X") == text_of(known).replace(
        identifiant, "X"
    )


async def test_parallel_attempts_are_counted_one_by_one(sample_system):
    identifiant = "tentatives.paralleles"
    async with httpx.AsyncClient(base_url=sample_system.identity_url) as client:
        login_page = await client.get("/connexion")
        fields = {
            "identifiant": identifiant,
            "password": "pas le bon mot de passe",
            "csrf_token": csrf_token(login_page),
        }

        answers = await asyncio.gather(
            *(client.post("/connexion", data=fields) for _ in range(8))
        )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [401] * 5 + [429] * 3
