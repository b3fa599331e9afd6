from datetime import datetime
from pathlib import Path

import pytest

from services.importer.depots import (
    DEPOTS,
    Drop,
    UnrecognisedDrop,
    find_drops,
    is_due,
    move_with_report,
    recognise,
)
from services.importer.plan import Plan, PlanInvalid, load_plan
from services.importer.settings import DEFAULT_PLAN

PLAN = load_plan(DEFAULT_PLAN)


def test_shipped_plan_has_2020_days():
    assert PLAN.academies_on("monday") == [
        "aix-marseille",
        "corse",
        "dijon",
        "lyon",
        "nantes",
        "nice",
        "versailles",
    ]
    assert len(PLAN.academies_on("tuesday")) == 10
    assert len(PLAN.academies_on("thursday")) == 12
    assert PLAN.academies_on("sunday") == [
        "creteil",
        "orleans-tours",
        "rennes",
        "la-reunion",
    ]
    assert len(PLAN.day_of) == 33
    assert PLAN.delta_1d == frozenset()


def test_plan_with_academie_twice_is_invalid(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text('[days]\nmonday = ["lyon"]\ntuesday = ["lyon"]\n')

    with pytest.raises(PlanInvalid, match="'lyon' planned on monday and tuesday"):
        load_plan(path)


def test_plan_with_unknown_day_is_invalid(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text('[days]\nmardi = ["lyon"]\n')

    with pytest.raises(PlanInvalid, match="unknown day 'mardi'"):
        load_plan(path)


def test_plan_with_accented_code_is_invalid(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text('[days]\nsunday = ["créteil"]\n')

    with pytest.raises(PlanInvalid, match="invalid académie code 'créteil'"):
        load_plan(path)


def drop_folder(root: Path, source: str, name: str) -> Path:
    folder = root / DEPOTS[source] / name
    folder.mkdir(parents=True)
    return folder


def test_drop_name_gives_source_academie_kind_and_date(tmp_path):
    folder = drop_folder(tmp_path, "siecle", "SIECLE_orleans-tours_DELTA_20261208_0630")

    drop = recognise(folder, "siecle", PLAN)

    assert drop == Drop(
        folder, "siecle", "orleans-tours", "delta", datetime(2026, 12, 8, 6, 30)
    )


@pytest.mark.parametrize(
    ("source", "name", "reason"),
    [
        ("onde", "versailles_20261207", "is not a drop folder named"),
        ("onde", "SIECLE_versailles_FULL_20261207", "SIECLE drop in the ONDE depot"),
        ("siecle", "SIECLE_atlantide_FULL_20261207", "unknown académie 'atlantide'"),
        ("onde", "ONDE_lyon_DELTA_20261207", "1D deltas are off for 'lyon'"),
        ("onde", "ONDE_lyon_FULL_20261340", "invalid date '20261340'"),
    ],
)
def test_unrecognised_drop_says_why(tmp_path, source, name, reason):
    folder = drop_folder(tmp_path, source, name)

    drop = recognise(folder, source, PLAN)

    assert isinstance(drop, UnrecognisedDrop)
    assert reason in drop.reason


def test_1d_delta_accepted_for_flagged_academie(tmp_path):
    plan = Plan(day_of={"lyon": "monday"}, delta_1d=frozenset({"lyon"}))
    folder = drop_folder(tmp_path, "onde", "ONDE_lyon_DELTA_20261207")

    assert isinstance(recognise(folder, "onde", plan), Drop)


def test_drops_found_oldest_first_skipping_partial_ones(tmp_path):
    drop_folder(tmp_path, "onde", "ONDE_lyon_FULL_20261214")
    drop_folder(tmp_path, "onde", "ONDE_lyon_FULL_20261207")
    drop_folder(tmp_path, "onde", ".ONDE_lyon_FULL_20261221")
    drop_folder(tmp_path, "onde", "ONDE_lyon_FULL_20261228.part")
    drop_folder(tmp_path, "onde", "done")

    names = [drop.path.name for drop in find_drops(tmp_path, PLAN)]

    assert names == ["ONDE_lyon_FULL_20261207", "ONDE_lyon_FULL_20261214"]


def test_drop_due_by_kind_and_day(tmp_path):
    full = Drop(tmp_path, "siecle", "lyon", "full", datetime(2026, 12, 7))
    delta = Drop(tmp_path, "siecle", "lyon", "delta", datetime(2026, 12, 7))

    assert is_due(full, PLAN, "monday")
    assert not is_due(full, PLAN, "tuesday")
    assert is_due(delta, PLAN, "tuesday")


def test_moved_drop_keeps_its_report(tmp_path):
    folder = drop_folder(tmp_path, "onde", "ONDE_lyon_FULL_20261207")
    (folder / "file").write_text("x")
    drop_folder(tmp_path, "onde", "done/ONDE_lyon_FULL_20261207")

    target = move_with_report(folder, "done", "report\n")

    assert target.name == "ONDE_lyon_FULL_20261207.2"
    assert (target / "file").read_text() == "x"
    assert (target.parent / f"{target.name}.report.txt").read_text() == "report\n"
    assert not folder.exists()
