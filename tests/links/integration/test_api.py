"""The internal HTTP API over a real PostgreSQL: links by state, decisions and
their error codes, and one responsable never reaching another's links."""

import asyncio
import os
import sys

import httpx
import pytest

from services.links.app import create_app
from services.links.domain import link_id_for
from services.links.settings import Settings

from ..factories import ELEVE_ID, WRONG_DATE, confirm, decide, eleve, import_eleve

pytestmark = pytest.mark.integration

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture
async def client(pool, fresh_database_url):
    settings = Settings(
        environment="test",
        database_url=fresh_database_url,
        # The API routes never reach the broker; nothing listens here.
        kafka_bootstrap_servers="127.0.0.1:9",
        internal_token=TOKEN,
        max_wrong_birth_dates_per_responsable=2,
    )
    app = create_app(settings)
    # The lifespan, which would start the consumers and the relay, is not run.
    app.state.pool = pool
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://links.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


def body(*decisions: dict, screen="activation") -> dict:
    return {"screen": screen, "decisions": list(decisions)}


async def test_links_filtered_by_state(pool, client):
    await import_eleve(pool, eleve("siecle:1"))
    await import_eleve(pool, eleve("siecle:1", eleve_id="9900000002E", prenom="Ali"))
    await decide(pool, "siecle:1", confirm("siecle:1"))

    confirmed = await client.get(
        "/internal/responsables/siecle:1/links", params={"state": "confirmed"}
    )
    several = await client.get(
        "/internal/responsables/siecle:1/links",
        params=[("state", "confirmed"), ("state", "proposed")],
    )
    unfiltered = await client.get("/internal/responsables/siecle:1/links")
    invalid = await client.get(
        "/internal/responsables/siecle:1/links", params={"state": "removed"}
    )

    assert [link["eleve"]["eleve_id"] for link in confirmed.json()] == [ELEVE_ID]
    assert len(several.json()) == 2
    assert len(unfiltered.json()) == 2
    assert invalid.status_code == 422


async def test_too_many_attempts_carries_retry_time(pool, client):
    await import_eleve(pool, eleve("siecle:1"))
    link_id = str(link_id_for(ELEVE_ID, "siecle:1"))
    wrong = {
        "link_id": link_id,
        "decision": "confirm",
        "date_naissance": WRONG_DATE.isoformat(),
    }
    right = {**wrong, "date_naissance": "2013-03-14"}

    for _ in range(2):
        response = await client.post(
            "/internal/responsables/siecle:1/decisions", json=body(wrong)
        )
        assert response.json()["errors"][0]["code"] == "birth_date_mismatch"
    response = await client.post(
        "/internal/responsables/siecle:1/decisions", json=body(right)
    )

    assert response.status_code == 200
    result = response.json()
    assert result["applied"] is False
    (error,) = result["errors"]
    assert error["code"] == "too_many_attempts"
    assert 3500 < error["retry_after_seconds"] <= 3600


async def test_last_confirmed_link_code_on_mon_compte(pool, client):
    await import_eleve(pool, eleve("siecle:1"))
    await decide(pool, "siecle:1", confirm("siecle:1"))
    refusal = {"link_id": str(link_id_for(ELEVE_ID, "siecle:1")), "decision": "refuse"}

    response = await client.post(
        "/internal/responsables/siecle:1/decisions",
        json=body(refusal, screen="mon_compte"),
    )

    assert response.json()["applied"] is False
    assert response.json()["errors"][0]["code"] == "last_confirmed_link"
    assert response.json()["errors"][0]["retry_after_seconds"] is None


async def test_other_responsable_cannot_read_or_decide(pool, client):
    await import_eleve(pool, eleve("siecle:1", "siecle:2"))
    other_link = str(link_id_for(ELEVE_ID, "siecle:1"))

    listed = await client.get("/internal/responsables/siecle:2/links")
    decided = await client.post(
        "/internal/responsables/siecle:2/decisions",
        json=body({"link_id": other_link, "decision": "refuse"}),
    )

    assert other_link not in {link["link_id"] for link in listed.json()}
    assert decided.status_code == 404
    state = await pool.fetchval(
        "SELECT state::text FROM links WHERE responsable_id = 'siecle:1'"
    )
    assert state == "proposed"


async def test_requests_without_token_are_rejected(client):
    response = await client.get(
        "/internal/responsables/siecle:1/links", headers={"Authorization": "Bearer x"}
    )

    assert response.status_code == 401


async def run_rollout(database_url: str, path) -> str:
    env = {key: value for key, value in os.environ.items() if key[:6] != "LINKS_"}
    env |= {
        "LINKS_ENVIRONMENT": "test",
        "LINKS_DATABASE_URL": database_url,
        "LINKS_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "LINKS_INTERNAL_TOKEN": TOKEN,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.links",
        "rollout",
        "--activated-responsables",
        str(path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_rollout_command_is_idempotent(pool, fresh_database_url, tmp_path):
    await import_eleve(pool, eleve("siecle:1", "siecle:2", "siecle:3"))
    activated = tmp_path / "activated.txt"
    activated.write_text("# activated accounts\nsiecle:1\n\nsiecle:2\nsiecle:1\n")

    first = await run_rollout(fresh_database_url, activated)
    second = await run_rollout(fresh_database_url, activated)

    assert first.strip() == "2 links confirmed for 2 responsables"
    assert second.strip() == "0 links confirmed for 2 responsables"
    rows = await pool.fetch("SELECT responsable_id, state::text FROM links")
    assert dict(rows) == {
        "siecle:1": "confirmed",
        "siecle:2": "confirmed",
        "siecle:3": "proposed",
    }
    confirmed = await pool.fetchval(
        "SELECT count(*) FROM outbox WHERE type = 'link.confirmed'"
    )
    assert confirmed == 2


async def test_rollout_command_reports_missing_file(fresh_database_url, tmp_path):
    with pytest.raises(AssertionError, match="cannot read"):
        await run_rollout(fresh_database_url, tmp_path / "missing.txt")
