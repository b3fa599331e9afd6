import json
import uuid

from services.identity.links_client import Link
from services.identity.reasons import proposal_reason

RECORD = "siecle:8100001"


def child(uai="0999101E", source="siecle", responsable_id=RECORD) -> Link:
    return Link(
        link_id=uuid.uuid4(),
        state="proposed",
        source=source,
        eleve_id="9800000021A",
        nom="DUBOIS",
        prenom="Hugo",
        uai=uai,
        classe="4EME1",
        responsable_id=responsable_id,
    )


def account(**fields) -> dict:
    record = {
        "responsable_id": RECORD,
        "nom": "DUBOIS",
        "prenom": "Martin",
        "email": "Martin.Dubois@example.org",
        "mobile": "+33 6 39 98 10 01",
    }
    values = {
        "nom": "Dubois",
        "prenom": "Martin",
        "email": None,
        "source_email": None,
        "source_mobile": None,
        "creation_mobile": None,
        "held_records": [json.dumps(record)],
    }
    return {**values, **fields}


def test_created_account_matches_name_and_mobile():
    reason = proposal_reason(account(creation_mobile="0639981001"), child())

    assert reason.matched == ("name", "mobile")
    assert reason.matched_labels == ["nom et prénom", "téléphone portable"]


def test_activated_account_matches_email_case_insensitively():
    reason = proposal_reason(account(email="martin.dubois@example.org"), child())

    assert reason.matched == ("name", "email")


def test_other_name_and_phone_match_nothing():
    reason = proposal_reason(
        account(nom="LEROY", prenom="Claire", creation_mobile="0639981009"), child()
    )

    assert reason.matched == ()


def test_record_not_held_matches_nothing():
    reason = proposal_reason(account(), child(responsable_id="siecle:other"))

    assert reason.matched == ()


def test_school_name_and_source_label():
    known = proposal_reason(account(), child())
    unknown = proposal_reason(account(), child(uai="0999302L", source="onde"))

    assert known.school_name == "Collège des Tilleuls (Belleterre-sur-Fiction)"
    assert known.source_label == "SIECLE, second degré"
    assert unknown.school_name is None
    assert unknown.source_label == "ONDE, premier degré"
