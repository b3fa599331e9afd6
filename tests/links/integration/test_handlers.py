"""The links use cases against a real PostgreSQL: link states across imports,
decisions all-or-none, and the events each writes to the outbox."""

import json
from datetime import date

import pytest

from services.links import handlers
from services.links.domain import Decision, link_id_for
from services.links.errors import LinkNotFound
from shared.contracts.events import EleveRemoved

from ..factories import apply, decide, eleve, outbox_types, states

pytestmark = pytest.mark.integration


async def test_new_links_start_proposed(pool):
    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1", "siecle:2"))

    assert await states(pool) == {"siecle:1": "proposed", "siecle:2": "proposed"}
    assert await outbox_types(pool) == ["link.proposed", "link.proposed"]


async def test_reimport_keeps_state_and_emits_nothing(pool):
    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1"))
    link_id = link_id_for("9900000001W", "siecle:1")
    await decide(pool, "siecle:1", Decision(link_id, "confirm", date(2013, 3, 14)))

    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1"))

    assert await states(pool) == {"siecle:1": "confirmed"}
    assert await outbox_types(pool) == ["link.proposed", "link.confirmed"]


async def test_link_dropped_by_source_is_removed(pool):
    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1", "siecle:2"))

    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1"))

    assert await states(pool) == {"siecle:1": "proposed"}
    assert (await outbox_types(pool))[-1] == "link.removed"


async def test_wrong_birth_date_changes_nothing(pool):
    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1"))
    link_id = link_id_for("9900000001W", "siecle:1")

    outcome = await decide(
        pool, "siecle:1", Decision(link_id, "confirm", date(2013, 3, 15))
    )

    assert [error.code for error in outcome.errors] == ["birth_date_mismatch"]
    assert await states(pool) == {"siecle:1": "proposed"}
    assert await outbox_types(pool) == ["link.proposed"]
    audit = await pool.fetch(
        "SELECT decision, outcome, new_state::text FROM decision_audit"
    )
    assert [tuple(row) for row in audit] == [("confirm", "birth_date_mismatch", None)]


async def test_refusal_is_audited_and_published_once(pool):
    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1"))
    link_id = link_id_for("9900000001W", "siecle:1")

    await decide(pool, "siecle:1", Decision(link_id, "refuse"))
    await decide(pool, "siecle:1", Decision(link_id, "refuse"))

    assert await states(pool) == {"siecle:1": "refused"}
    assert await outbox_types(pool) == ["link.proposed", "link.refused"]
    audit = await pool.fetch(
        "SELECT decision, screen, new_state::text FROM decision_audit"
    )
    assert [tuple(row) for row in audit] == [("refuse", "activation", "refused")]
    payload = json.loads(
        await pool.fetchval(
            "SELECT payload::text FROM outbox WHERE type = 'link.refused'"
        )
    )
    assert payload["eleve"]["ine"] == "9900000001W"
    assert payload["eleve"]["source_eleve_id"] == "4300001"


async def test_one_bad_decision_rejects_all(pool):
    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1"))
    second = eleve("siecle:1").model_copy(
        update={"eleve_id": "9900000002E", "ine": "9900000002E", "prenom": "Fatou"}
    )
    await apply(pool, handlers.apply_eleve_imported, second)

    outcome = await decide(
        pool,
        "siecle:1",
        Decision(link_id_for("9900000001W", "siecle:1"), "refuse"),
        Decision(link_id_for("9900000002E", "siecle:1"), "confirm", date(2001, 1, 1)),
    )

    assert len(outcome.errors) == 1
    assert set((await states(pool)).values()) == {"proposed"}


async def test_other_responsables_link_is_not_found(pool):
    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:1", "siecle:2"))

    with pytest.raises(LinkNotFound):
        await decide(
            pool, "siecle:2", Decision(link_id_for("9900000001W", "siecle:1"), "refuse")
        )

    assert await states(pool) == {"siecle:1": "proposed", "siecle:2": "proposed"}


async def test_removal_from_former_source_keeps_pupil_enrolled(pool):
    await apply(
        pool,
        handlers.apply_eleve_imported,
        eleve("onde:0999202P:a", source="onde", uai="0999202P"),
    )
    await apply(pool, handlers.apply_eleve_imported, eleve("siecle:9"))

    await apply(
        pool,
        handlers.apply_eleve_removed,
        EleveRemoved(
            academie="versailles", eleve_id="9900000001W", source="onde", uai="0999202P"
        ),
    )

    assert await states(pool) == {"siecle:9": "proposed"}
    assert await pool.fetchval("SELECT enrolled FROM eleves") is True
