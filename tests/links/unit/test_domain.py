import uuid
from datetime import date

from services.links.__main__ import read_responsable_ids
from services.links.domain import (
    Decision,
    LinkState,
    ResponsableIdentity,
    check_decision,
    link_id_for,
    same_responsable,
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


def identity(**changes) -> ResponsableIdentity:
    fields = dict(
        nom="N'DIAYE",
        prenom="Mariama",
        email="m.ndiaye@example.org",
        telephone_portable="06 12 34 56 78",
    )
    return ResponsableIdentity(**(fields | changes))


def test_same_responsable_ignores_spelling():
    new = identity(nom="N Diaye", prenom="MARIAMA", email="M.Ndiaye@Example.org")

    assert same_responsable(identity(), new)


def test_same_responsable_needs_shared_contact():
    phone_only = identity(email=None)
    other_contacts = identity(email="autre@example.org", telephone_portable=None)

    assert same_responsable(phone_only, identity(email="autre@example.org"))
    assert not same_responsable(identity(), other_contacts)
    assert not same_responsable(
        identity(email=None, telephone_portable=None),
        identity(email=None, telephone_portable=None),
    )


def test_same_responsable_needs_same_name():
    assert not same_responsable(identity(), identity(prenom="Fatou"))
    assert not same_responsable(identity(), identity(nom="DIOP"))


def test_rollout_file_skips_comments_and_duplicates(tmp_path):
    path = tmp_path / "activated.txt"
    path.write_text("# header\nsiecle:1\n\n  siecle:2  \nsiecle:1\n", encoding="utf-8")

    assert read_responsable_ids(path) == ["siecle:1", "siecle:2"]
