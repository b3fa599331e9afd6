"""Birth-date checks are throttled per responsable and per pupil, and every
rejected attempt is audited without the date that was typed."""

from datetime import timedelta

import pytest

from services.links.domain import BirthDateThrottle

from ..factories import (
    WRONG_DATE,
    confirm,
    decide,
    eleve,
    import_eleve,
    outbox_types,
    refuse,
    states,
)

pytestmark = pytest.mark.integration

THROTTLE = BirthDateThrottle(
    per_responsable=3,
    responsable_window=timedelta(hours=1),
    per_eleve=4,
    eleve_window=timedelta(days=1),
)


async def guess(pool, responsable_id: str, times: int, **kwargs) -> None:
    for _ in range(times):
        outcome = await decide(
            pool,
            responsable_id,
            confirm(responsable_id, date_naissance=WRONG_DATE),
            throttle=THROTTLE,
            **kwargs,
        )
        assert [error.code for error in outcome.errors] == ["birth_date_mismatch"]


async def test_responsable_over_limit_gets_too_many_attempts(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await guess(pool, "siecle:1", 3)

    outcome = await decide(pool, "siecle:1", confirm("siecle:1"), throttle=THROTTLE)

    (error,) = outcome.errors
    assert error.code == "too_many_attempts"
    assert timedelta(minutes=59) < error.retry_after <= timedelta(hours=1)
    assert await states(pool) == {"siecle:1": "proposed"}
    assert await outbox_types(pool) == ["link.proposed"]


async def test_limit_counts_wrong_dates_within_one_request(pool):
    for number in range(1, 5):
        await import_eleve(
            pool, eleve("siecle:1", eleve_id=f"990000000{number}W", prenom="Awa")
        )

    outcome = await decide(
        pool,
        "siecle:1",
        *(
            confirm(
                "siecle:1", eleve_id=f"990000000{number}W", date_naissance=WRONG_DATE
            )
            for number in range(1, 5)
        ),
        throttle=THROTTLE,
    )

    assert [error.code for error in outcome.errors] == [
        "birth_date_mismatch",
        "birth_date_mismatch",
        "birth_date_mismatch",
        "too_many_attempts",
    ]


async def test_pupil_over_limit_blocks_other_guardian(pool):
    await import_eleve(pool, eleve("siecle:1", "siecle:2"))
    await guess(pool, "siecle:1", 3)
    await guess(pool, "siecle:2", 1)

    outcome = await decide(pool, "siecle:2", confirm("siecle:2"), throttle=THROTTLE)

    (error,) = outcome.errors
    assert error.code == "too_many_attempts"
    assert timedelta(hours=23) < error.retry_after <= timedelta(days=1)


async def test_dry_run_guesses_count(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await guess(pool, "siecle:1", 3, dry_run=True)

    outcome = await decide(
        pool, "siecle:1", confirm("siecle:1"), throttle=THROTTLE, dry_run=True
    )

    assert [error.code for error in outcome.errors] == ["too_many_attempts"]


async def test_checks_resume_after_window(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await guess(pool, "siecle:1", 3)
    await pool.execute(
        "UPDATE decision_audit SET decided_at = decided_at - interval '61 minutes'"
    )

    outcome = await decide(pool, "siecle:1", confirm("siecle:1"), throttle=THROTTLE)

    assert outcome.errors == []
    assert await states(pool) == {"siecle:1": "confirmed"}


async def test_refusal_is_never_throttled(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await guess(pool, "siecle:1", 3)

    outcome = await decide(
        pool,
        "siecle:1",
        refuse("siecle:1"),
        throttle=THROTTLE,
    )

    assert outcome.errors == []
    assert await states(pool) == {"siecle:1": "refused"}


async def test_rejected_attempts_are_audited_without_date(pool):
    await import_eleve(pool, eleve("siecle:1"))
    await guess(pool, "siecle:1", 3)
    await decide(pool, "siecle:1", confirm("siecle:1"), throttle=THROTTLE)

    rows = await pool.fetch(
        "SELECT responsable_id, screen, outcome, new_state FROM decision_audit"
        " ORDER BY id"
    )
    assert [row["outcome"] for row in rows] == [
        "birth_date_mismatch",
        "birth_date_mismatch",
        "birth_date_mismatch",
        "too_many_attempts",
    ]
    assert {row["new_state"] for row in rows} == {None}
    date_columns = await pool.fetchval(
        "SELECT count(*) FROM information_schema.columns"
        " WHERE table_schema = 'links' AND table_name = 'decision_audit'"
        " AND data_type = 'date'"
    )
    assert date_columns == 0
