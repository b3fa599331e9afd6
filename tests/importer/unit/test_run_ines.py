"""One INE in two schools of one source and one run rejects the run; across
sources it is a pupil moving from école to collège."""

from array import array

import pytest

from services.importer import sources
from services.importer.errors import ImportFileRejected
from services.importer.sources import RunIneIndex, find_school_folders

from ..factories import (
    DEFAULT_CHILD,
    eleve,
    eleves_xml,
    onde_eleve_row,
    onde_responsable_row,
    responsables_xml,
    write_onde,
    write_siecle,
)

COLLEGE_A, COLLEGE_B = "0999101E", "0999102F"
ECOLE_A, ECOLE_B = "0999201N", "0999202P"
SHARED_INE = "9900000001W"
ONDE_INE = "9900000008G"  # of the default onde_eleve_row


def index_all(folder) -> None:
    schools = find_school_folders([folder])
    ines = RunIneIndex(schools)
    for index, school in enumerate(schools):
        pupils = school.read().eleves
        ines.add(index, array("q", (sources.ine_hash(p.ine) for p in pupils if p.ine)))
    ines.check()


def write_college(folder, uai: str, pupils: str) -> None:
    write_siecle(
        folder / uai, eleves_xml(pupils=pupils, uaj=uai), responsables_xml(uaj=uai)
    )


def test_siecle_shared_ine_rejected(tmp_path):
    write_college(
        tmp_path,
        COLLEGE_A,
        eleve("4300001", SHARED_INE) + eleve("4300002", "9900000002E"),
    )
    write_college(
        tmp_path,
        COLLEGE_B,
        eleve("4300001", "9900000003N", prenom="Adam")
        + eleve("4300002", SHARED_INE, nom="NGUYEN", prenom="Adam"),
    )

    with pytest.raises(ImportFileRejected) as caught:
        index_all(tmp_path)

    error = caught.value
    assert error.file == str(tmp_path / COLLEGE_B / "ElevesSansAdresses.xml")
    assert error.location == "element ELEVE ELEVE_ID='4300002'"
    assert "same INE as element ELEVE ELEVE_ID='4300001' of UAI 0999101E" in (
        error.reason
    )
    assert str(tmp_path / COLLEGE_A) in error.reason
    for private in (SHARED_INE, "NGUYEN", "Adam", "MOREL", "Zoé"):
        assert private not in str(error)


def test_onde_shared_ine_names_lines(tmp_path):
    write_onde(tmp_path / ECOLE_A)
    other = onde_eleve_row(prenom="Léa", ine="9900000009R")
    write_onde(
        tmp_path / ECOLE_B,
        other + "\n" + onde_eleve_row() + "\n",
        onde_responsable_row(DEFAULT_CHILD) + "\n",
    )

    with pytest.raises(ImportFileRejected) as caught:
        index_all(tmp_path)

    error = caught.value
    assert error.file == str(tmp_path / ECOLE_B / "eleves.csv")
    assert error.location == "line 3"
    assert "same INE as line 2 of UAI 0999201N" in error.reason


def test_ine_across_sources_allowed(tmp_path):
    write_onde(tmp_path / ECOLE_A)
    write_college(
        tmp_path,
        COLLEGE_A,
        eleve("4300001", ONDE_INE) + eleve("4300002", "9900000002E"),
    )

    index_all(tmp_path)


def test_distinct_ines_allowed(tmp_path):
    write_college(
        tmp_path,
        COLLEGE_A,
        eleve("4300001", "9900000001W") + eleve("4300002", "9900000002E"),
    )
    write_college(
        tmp_path,
        COLLEGE_B,
        eleve("4300001", "9900000003N") + eleve("4300002", "9900000004P"),
    )

    index_all(tmp_path)


def test_shared_hash_of_distinct_ines_allowed(tmp_path, monkeypatch):
    # Every INE gets the same hash, so only reading the schools again shows
    # that no INE repeats.
    monkeypatch.setattr(sources, "ine_hash", lambda value: 7)
    write_college(
        tmp_path,
        COLLEGE_A,
        eleve("4300001", "9900000001W") + eleve("4300002", "9900000002E"),
    )
    write_college(tmp_path, COLLEGE_B, eleve("4300001", "9900000003N"))

    index_all(tmp_path)


def test_shared_hash_still_finds_duplicate(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "ine_hash", lambda value: 7)
    write_college(
        tmp_path,
        COLLEGE_A,
        eleve("4300001", "9900000002E") + eleve("4300002", SHARED_INE),
    )
    write_college(
        tmp_path,
        COLLEGE_B,
        eleve("4300001", "9900000003N") + eleve("4300002", SHARED_INE),
    )

    with pytest.raises(ImportFileRejected) as caught:
        index_all(tmp_path)

    assert caught.value.location == "element ELEVE ELEVE_ID='4300002'"
    assert "same INE as element ELEVE ELEVE_ID='4300002'" in caught.value.reason
