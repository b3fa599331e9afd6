import uuid
from datetime import date

from services.links.domain import (
    Decision,
    LinkState,
    check_decision,
    link_id_for,
    state_after,
)


def test_link_id_depends_on_pair_only():
    assert link_id_for("9900000001W", "siecle:1") == link_id_for(
        "9900000001W", "siecle:1"
    )
    assert link_id_for("9900000001W", "siecle:1") != link_id_for(
        "9900000002E", "siecle:1"
    )


def test_refusal_needs_no_birth_date():
    decision = Decision(uuid.uuid4(), "refuse")

    assert check_decision(decision, date(2013, 3, 14)) is None


def test_confirmation_checks_birth_date():
    link_id = uuid.uuid4()

    right = Decision(link_id, "confirm", date(2013, 3, 14))
    wrong = Decision(link_id, "confirm", date(2013, 3, 15))
    missing = Decision(link_id, "confirm")

    assert check_decision(right, date(2013, 3, 14)) is None
    assert check_decision(wrong, date(2013, 3, 14)).code == "birth_date_mismatch"
    assert check_decision(missing, date(2013, 3, 14)).code == "birth_date_missing"


def test_decisions_lead_to_their_state():
    assert state_after("confirm") is LinkState.CONFIRMED
    assert state_after("refuse") is LinkState.REFUSED
