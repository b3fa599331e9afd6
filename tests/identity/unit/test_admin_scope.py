"""The circonscriptions file, the staff scope's schools, the provisional
password versions a school's reset gives, and the statistics' wording."""

import uuid

import pytest

from services.identity.admin_data import SchoolStatistics
from services.identity.admin_scope import (
    Circonscription,
    StaffScope,
    load_circonscriptions,
)
from services.identity.passwords import (
    check_provisional_password,
    provisional_password,
)

SECRET = "secret-secret-secret"


def test_shipped_circonscriptions_cover_samples():
    circonscriptions = load_circonscriptions()

    schools = [uai for entry in circonscriptions.values() for uai in entry.uais]

    assert sorted(schools) == ["0999101E", "0999102F", "0999201N", "0999202P"]
    assert all(entry.nom for entry in circonscriptions.values())


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[[circonscription]]\ncode = "A"\nnom = "A"\n', "has no 'uais'"),
        (
            '[[circonscription]]\ncode = "A"\nnom = "A"\nuais = ["099101E"]\n',
            "malformed UAI '099101E'",
        ),
        (
            '[[circonscription]]\ncode = "A"\nnom = "A"\nuais = []\n' * 2,
            "code 'A' appears twice",
        ),
    ],
)
def test_invalid_circonscriptions_file_names_entry(tmp_path, text, reason):
    path = tmp_path / "circonscriptions.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValueError, match=reason):
        load_circonscriptions(path)


def test_scope_schools_by_role():
    nord = Circonscription("NORD", "Nord", ("0999201N", "0999101E"))

    directeur = StaffScope(uuid.uuid4(), "directeur", "0999101E", None)
    ien = StaffScope(uuid.uuid4(), "ien", None, nord)

    assert directeur.uais == ("0999101E",)
    assert ien.uais == ("0999201N", "0999101E")


def test_notice_version_zero_keeps_first_password():
    account_id = uuid.uuid4()

    first = provisional_password(SECRET, account_id)
    reset = provisional_password(SECRET, account_id, 1)

    assert provisional_password(SECRET, account_id, 0) == first
    assert reset != first
    assert provisional_password(SECRET, account_id, 2) not in (first, reset)
    assert check_provisional_password(SECRET, account_id, reset, 1)
    assert not check_provisional_password(SECRET, account_id, first, 1)


@pytest.mark.parametrize(
    ("responsables", "activated", "rate"),
    [(0, 0, "–"), (3, 1, "33 %"), (4, 4, "100 %")],
)
def test_activation_rate_french_notation(responsables, activated, rate):
    statistics = SchoolStatistics("0999101E", 2, responsables, activated, 0, 0, 0)

    assert statistics.activation_rate == rate
