"""The internal API's school routes over a real PostgreSQL: a school's classes,
pupils and links for its staff, and the statistics of several schools."""

import httpx
import pytest

from services.links.app import create_app
from services.links.settings import Settings

from ..factories import (
    ELEVE_ID,
    confirm,
    decide,
    eleve,
    import_eleve,
    import_responsable,
    refuse,
    responsable,
)

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
    )
    app = create_app(settings)
    app.state.pool = pool
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://links.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def test_school_pupils_links_without_birth_dates(pool, client):
    await import_responsable(pool, responsable("siecle:1"))
    await import_eleve(pool, eleve("siecle:1", "siecle:2"))
    await import_eleve(pool, eleve("siecle:3", eleve_id="9900000002E", prenom="Ali"))
    await import_eleve(pool, eleve("siecle:4", eleve_id="9900000003N", uai="0999102F"))
    await decide(pool, "siecle:1", refuse("siecle:1"))

    response = await client.get("/internal/schools/0999101E")

    school = response.json()
    assert response.status_code == 200
    assert school["classes"] == ["5A"]
    assert [pupil["prenom"] for pupil in school["pupils"]] == ["Ali", "Awa"]
    awa = school["pupils"][1]
    assert [
        (link["responsable_id"], link["state"], link["responsable"])
        for link in awa["links"]
    ] == [
        (
            "siecle:1",
            "refused",
            {"civilite": "MME", "nom": "N'DIAYE", "prenom": "Mariama"},
        ),
        ("siecle:2", "proposed", None),
    ]
    assert awa["links"][0]["decided_at"] is not None
    assert "date_naissance" not in response.text
    assert "2013-03-14" not in response.text


async def test_school_class_filter_and_unknown_school(pool, client):
    await import_eleve(pool, eleve("siecle:1"))
    await import_eleve(
        pool, eleve("onde:1", source="onde", uai="0999201N", eleve_id="9900000002E")
    )

    other_class = await client.get(
        "/internal/schools/0999101E", params={"classe": "6B"}
    )
    one_class = await client.get("/internal/schools/0999201N", params={"classe": "CM2"})
    unknown = await client.get("/internal/schools/0999999Z")
    malformed = await client.get("/internal/schools/not-a-uai")

    assert other_class.json()["pupils"] == []
    assert [pupil["eleve_id"] for pupil in one_class.json()["pupils"]] == [
        "9900000002E"
    ]
    assert one_class.json()["pupils"][0]["classe"] == "CM2"
    assert unknown.json() == {"uai": "0999999Z", "classes": [], "pupils": []}
    assert malformed.status_code == 422


async def test_statistics_count_states_and_overdue(pool, client):
    await import_eleve(pool, eleve("siecle:1", "siecle:2", "siecle:3"))
    await import_eleve(pool, eleve("siecle:1", eleve_id="9900000002E", prenom="Ali"))
    await decide(pool, "siecle:1", confirm("siecle:1"))
    await decide(pool, "siecle:2", refuse("siecle:2"))
    await decide(pool, "siecle:3", refuse("siecle:3"))
    await pool.execute(
        "UPDATE links SET decided_at = now() - interval '31 days'"
        " WHERE responsable_id = 'siecle:3' AND eleve_id = $1",
        ELEVE_ID,
    )

    response = await client.get(
        "/internal/school-statistics",
        params=[("uai", "0999202P"), ("uai", "0999101E")],
    )

    assert response.json() == [
        {
            "uai": "0999202P",
            "pupils": 0,
            "proposed": 0,
            "confirmed": 0,
            "refused": 0,
            "overdue_refusals": 0,
            "responsable_ids": [],
        },
        {
            "uai": "0999101E",
            "pupils": 2,
            "proposed": 1,
            "confirmed": 1,
            "refused": 2,
            "overdue_refusals": 1,
            "responsable_ids": ["siecle:1", "siecle:2", "siecle:3"],
        },
    ]


async def test_school_routes_need_the_token(client):
    school = await client.get(
        "/internal/schools/0999101E", headers={"Authorization": "Bearer wrong"}
    )
    statistics = await client.get(
        "/internal/school-statistics",
        params={"uai": "0999101E"},
        headers={"Authorization": ""},
    )
    no_school = await client.get("/internal/school-statistics")

    assert school.status_code == 401
    assert statistics.status_code == 401
    assert no_school.status_code == 422
