"""The rules of the link life cycle, each against a real PostgreSQL: what each
import and decision does to a link's state and which events it writes."""

import pytest

from services.links import handlers
from services.links.domain import link_id_for
from shared.contracts.events import EleveLink, EleveRemoved

from ..factories import (
    ELEVE_ID,
    apply,
    confirm,
    decide,
    eleve,
    import_eleve,
    import_responsable,
    outbox_payloads,
    outbox_types,
    refuse,
    responsable,
    states,
)

pytestmark = pytest.mark.integration


async def test_link_from_delta_of_other_source_keeps_state(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await decide(pool, "siecle:1", confirm("siecle:1"))

    await import_eleve(pool, eleve("siecle:1", "siecle:2"))

    assert await states(pool) == {"siecle:1": "confirmed", "siecle:2": "proposed"}


async def test_confirming_refused_link_withdraws_refusal(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await decide(pool, "siecle:1", refuse("siecle:1"))

    outcome = await decide(pool, "siecle:1", confirm("siecle:1"))

    assert outcome.changed == 1
    assert await states(pool) == {"siecle:1": "confirmed"}
    assert await outbox_types(pool) == [
        "link.proposed",
        "link.refused",
        "link.refusal_withdrawn",
    ]
    (withdrawn,) = await outbox_payloads(pool, "link.refusal_withdrawn")
    assert withdrawn["link_id"] == str(link_id_for(ELEVE_ID, "siecle:1"))
    assert withdrawn["screen"] == "activation"


async def test_refused_link_back_unchanged_is_not_new(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await decide(pool, "siecle:1", refuse("siecle:1"))

    await import_eleve(pool, eleve("siecle:1"))
    await import_eleve(pool, eleve("siecle:1"))

    assert await states(pool) == {"siecle:1": "refused"}
    assert await outbox_types(pool) == ["link.proposed", "link.refused"]


async def test_refused_link_gone_from_source_closes_as_corrected(pool):
    await import_eleve(pool, eleve("siecle:1", "siecle:2"))
    await decide(pool, "siecle:2", refuse("siecle:2"))

    await import_eleve(pool, eleve("siecle:1"))

    assert await states(pool) == {"siecle:1": "proposed"}
    assert (await outbox_types(pool))[-1] == "link.removed"
    (removed,) = await outbox_payloads(pool, "link.removed")
    assert removed["responsable_id"] == "siecle:2"
    assert removed["previous_state"] == "refused"


async def test_refused_link_of_removed_pupil_closes_as_corrected(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await decide(pool, "siecle:1", refuse("siecle:1"))

    await apply(
        pool,
        handlers.apply_eleve_removed,
        EleveRemoved(
            academie="versailles", eleve_id=ELEVE_ID, source="siecle", uai="0999101E"
        ),
    )

    assert await states(pool) == {}
    (removed,) = await outbox_payloads(pool, "link.removed")
    assert removed["previous_state"] == "refused"


async def test_mon_compte_rejects_refusing_last_confirmed_link(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await decide(pool, "siecle:1", confirm("siecle:1"))

    outcome = await decide(pool, "siecle:1", refuse("siecle:1"), screen="mon_compte")

    assert [error.code for error in outcome.errors] == ["last_confirmed_link"]
    assert await states(pool) == {"siecle:1": "confirmed"}
    assert "link.refused" not in await outbox_types(pool)
    audit = await pool.fetch(
        "SELECT decision, screen, outcome FROM decision_audit ORDER BY id"
    )
    assert tuple(audit[-1]) == ("refuse", "mon_compte", "last_confirmed_link")


async def test_mon_compte_counts_account_other_records(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await decide(pool, "siecle:1", confirm("siecle:1"))

    outcome = await decide(
        pool,
        "siecle:1",
        refuse("siecle:1"),
        screen="mon_compte",
        confirmed_elsewhere=1,
    )

    assert outcome.errors == []
    assert await states(pool) == {"siecle:1": "refused"}


async def test_mon_compte_allows_refusal_while_another_stays(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await import_eleve(pool, eleve("siecle:1", eleve_id="9900000002E", prenom="Ali"))
    await decide(
        pool,
        "siecle:1",
        confirm("siecle:1"),
        confirm("siecle:1", eleve_id="9900000002E"),
    )

    outcome = await decide(pool, "siecle:1", refuse("siecle:1"), screen="mon_compte")

    assert outcome.errors == []
    assert outcome.changed == 1


async def test_mon_compte_rejects_refusing_every_confirmed_link(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await import_eleve(pool, eleve("siecle:1", eleve_id="9900000002E", prenom="Ali"))
    await decide(
        pool,
        "siecle:1",
        confirm("siecle:1"),
        confirm("siecle:1", eleve_id="9900000002E"),
    )

    outcome = await decide(
        pool,
        "siecle:1",
        refuse("siecle:1"),
        refuse("siecle:1", eleve_id="9900000002E"),
        screen="mon_compte",
    )

    assert {error.code for error in outcome.errors} == {"last_confirmed_link"}
    assert len(outcome.errors) == 2
    assert set((await states(pool)).values()) == {"confirmed"}


async def test_page_intermediaire_allows_refusing_last_link(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await decide(pool, "siecle:1", confirm("siecle:1"))

    outcome = await decide(
        pool, "siecle:1", refuse("siecle:1"), screen="page_intermediaire"
    )

    assert outcome.errors == []
    assert await states(pool) == {"siecle:1": "refused"}


async def test_guardians_decide_independently(pool):
    await import_eleve(pool, eleve("siecle:1", "siecle:2"))

    await decide(pool, "siecle:1", confirm("siecle:1"))
    await decide(pool, "siecle:2", refuse("siecle:2"))
    await decide(pool, "siecle:2", refuse("siecle:2"), screen="page_intermediaire")

    assert await states(pool) == {"siecle:1": "confirmed", "siecle:2": "refused"}
    (refusal,) = await outbox_payloads(pool, "link.refused")
    assert refusal["responsable_id"] == "siecle:2"
    assert len(await outbox_payloads(pool, "link.confirmed")) == 1


async def test_pair_exists_once_whatever_rows_and_imports(pool):
    repeated = eleve("siecle:1").model_copy(
        update={
            "responsables": (
                EleveLink(responsable_id="siecle:1", code_parente="10"),
                EleveLink(responsable_id="siecle:1", code_parente="10"),
            )
        }
    )

    await import_eleve(pool, repeated)
    await import_eleve(pool, repeated)
    await import_eleve(pool, eleve("siecle:1", source="onde", uai="0999202P"))

    assert await pool.fetchval("SELECT count(*) FROM links") == 1
    assert await outbox_types(pool) == ["link.proposed"]


async def test_rollout_confirms_proposed_links_once(pool):
    await import_eleve(pool, eleve("siecle:1", "siecle:2"))
    await import_eleve(pool, eleve("siecle:1", eleve_id="9900000002E", prenom="Ali"))
    await decide(pool, "siecle:1", refuse("siecle:1", eleve_id="9900000002E"))

    async with pool.acquire() as connection, connection.transaction():
        first = await handlers.confirm_links_of_activated_account(
            connection, "siecle:1"
        )
    async with pool.acquire() as connection, connection.transaction():
        second = await handlers.confirm_links_of_activated_account(
            connection, "siecle:1"
        )

    assert first == 1
    assert second == 0
    rows = await pool.fetch(
        "SELECT eleve_id, responsable_id, state::text FROM links ORDER BY 1, 2"
    )
    assert [tuple(row) for row in rows] == [
        (ELEVE_ID, "siecle:1", "confirmed"),
        (ELEVE_ID, "siecle:2", "proposed"),
        ("9900000002E", "siecle:1", "refused"),
    ]
    (confirmed,) = await outbox_payloads(pool, "link.confirmed")
    assert confirmed["origin"] == "rollout"
    assert confirmed["screen"] == "activation"


ONDE_PARENT = "onde:0999202P:a1"
SIECLE_PARENT = "siecle:77"


async def confirmed_in_onde(pool) -> None:
    """Bring the pupil from ONDE with a responsable who confirms the link."""
    await import_responsable(pool, responsable(ONDE_PARENT))
    await import_eleve(pool, eleve(ONDE_PARENT, source="onde", uai="0999202P"))
    await decide(pool, ONDE_PARENT, confirm(ONDE_PARENT), screen="page_intermediaire")


async def test_move_to_siecle_keeps_confirmation(pool):
    await confirmed_in_onde(pool)

    await import_responsable(
        pool, responsable(SIECLE_PARENT, nom="N'Diaye", email="M.NDIAYE@example.org")
    )
    await import_eleve(pool, eleve(SIECLE_PARENT))

    assert (await states(pool))[SIECLE_PARENT] == "confirmed"
    (_, carried) = await outbox_payloads(pool, "link.confirmed")
    assert carried["origin"] == "source_change"
    assert carried["screen"] == "page_intermediaire"
    assert carried["carried_over_from"] == str(link_id_for(ELEVE_ID, ONDE_PARENT))
    assert (await outbox_types(pool))[-2:] == ["link.proposed", "link.confirmed"]


async def test_move_after_onde_removal_keeps_confirmation(pool):
    await confirmed_in_onde(pool)
    await apply(
        pool,
        handlers.apply_eleve_removed,
        EleveRemoved(
            academie="versailles", eleve_id=ELEVE_ID, source="onde", uai="0999202P"
        ),
    )

    await import_responsable(pool, responsable(SIECLE_PARENT))
    await import_eleve(pool, eleve(SIECLE_PARENT))

    assert await states(pool) == {SIECLE_PARENT: "confirmed"}
    removed = await pool.fetchrow(
        "SELECT source, previous_state::text FROM removed_links"
    )
    assert tuple(removed) == ("onde", "confirmed")


async def test_move_matches_on_mobile_when_pupil_comes_first(pool):
    await import_responsable(
        pool, responsable(ONDE_PARENT, telephone_portable="06.12.34.56.78")
    )
    await import_eleve(pool, eleve(ONDE_PARENT, source="onde", uai="0999202P"))
    await decide(pool, ONDE_PARENT, confirm(ONDE_PARENT))
    await apply(
        pool,
        handlers.apply_eleve_removed,
        EleveRemoved(
            academie="versailles", eleve_id=ELEVE_ID, source="onde", uai="0999202P"
        ),
    )

    await import_eleve(pool, eleve(SIECLE_PARENT))
    assert await states(pool) == {SIECLE_PARENT: "proposed"}
    await import_responsable(
        pool,
        responsable(SIECLE_PARENT, email=None, telephone_portable="+33 6 12 34 56 78"),
    )

    assert await states(pool) == {SIECLE_PARENT: "confirmed"}
    (_, carried) = await outbox_payloads(pool, "link.confirmed")
    assert carried["origin"] == "source_change"


async def test_move_without_shared_contact_starts_proposed(pool):
    await confirmed_in_onde(pool)

    await import_responsable(
        pool, responsable(SIECLE_PARENT, email="autre@example.org")
    )
    await import_eleve(pool, eleve(SIECLE_PARENT))

    assert (await states(pool))[SIECLE_PARENT] == "proposed"
    assert len(await outbox_payloads(pool, "link.confirmed")) == 1


async def test_move_keeps_only_confirmed_links(pool):
    await import_responsable(pool, responsable(ONDE_PARENT))
    await import_eleve(pool, eleve(ONDE_PARENT, source="onde", uai="0999202P"))
    await decide(pool, ONDE_PARENT, refuse(ONDE_PARENT))

    await import_responsable(pool, responsable(SIECLE_PARENT))
    await import_eleve(pool, eleve(SIECLE_PARENT))

    assert (await states(pool))[SIECLE_PARENT] == "proposed"
