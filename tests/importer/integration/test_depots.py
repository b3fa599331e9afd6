"""Drops in the 1D and 2D depots imported by ``scan``, moved with their
report, against the session's PostgreSQL and Kafka."""

import io
import shutil
from pathlib import Path

import pytest

from services.importer import scheduler
from services.importer.depots import DEPOTS
from services.importer.plan import load_plan
from services.importer.runs import EXIT_OK, confirm_import
from services.importer.settings import DEFAULT_PLAN, ImporterSettings

from ..samples import SAMPLES
from .test_full_import import fetch, outbox

pytestmark = pytest.mark.integration

PLAN = load_plan(DEFAULT_PLAN)


@pytest.fixture
def settings(fresh_database_url, local_stack) -> ImporterSettings:
    return ImporterSettings(
        database_url=fresh_database_url,
        kafka_bootstrap_servers=local_stack.kafka_bootstrap_servers,
        environment="test",
    )


def drop(root: Path, source: str, name: str, week: str = "week1") -> Path:
    target = root / DEPOTS[source] / name
    shutil.copytree(SAMPLES / source / week, target)
    return target


async def test_scan_imports_both_depots_and_moves_drops(settings, tmp_path):
    drop(tmp_path, "siecle", "SIECLE_versailles_FULL_20260112")
    drop(tmp_path, "onde", "ONDE_versailles_FULL_20260112")

    code = await scheduler.scan(settings, tmp_path, PLAN)

    assert code == EXIT_OK
    for source, name in (("siecle", "SIECLE"), ("onde", "ONDE")):
        done = tmp_path / DEPOTS[source] / "done"
        assert (done / f"{name}_versailles_FULL_20260112").is_dir()
        report = (done / f"{name}_versailles_FULL_20260112.report.txt").read_text()
        assert ", full, applied" in report
    pupils = await fetch(settings, "SELECT eleve_id FROM importer.snapshot_eleves")
    assert len(pupils) == 71


async def test_scan_rejects_bad_file_with_report(settings, tmp_path):
    folder = drop(tmp_path, "siecle", "SIECLE_versailles_FULL_20260112")
    broken = folder / "0999102F" / "ElevesSansAdresses.xml"
    broken.write_bytes(broken.read_bytes().replace(b"11/02/2011", b"31/02/2011"))

    await scheduler.scan(settings, tmp_path, PLAN)

    rejected = tmp_path / DEPOTS["siecle"] / "rejected"
    report = (rejected / "SIECLE_versailles_FULL_20260112.report.txt").read_text()
    assert ", full, rejected" in report
    assert "date impossible « 31/02/2011 »" in report
    assert await outbox(settings) == []


async def test_scan_rejects_badly_named_drop(settings, tmp_path):
    drop(tmp_path, "onde", "export_versailles")

    await scheduler.scan(settings, tmp_path, PLAN)

    rejected = tmp_path / DEPOTS["onde"] / "rejected"
    report = (rejected / "export_versailles.report.txt").read_text()
    assert "is not a drop folder named" in report


async def test_held_drop_confirmed_moves_to_done(settings, tmp_path):
    drop(tmp_path, "siecle", "SIECLE_versailles_FULL_20260112")
    await scheduler.scan(settings, tmp_path, PLAN)
    half = drop(tmp_path, "siecle", "SIECLE_versailles_FULL_20260119")
    # The first collège's export lost all its pupils.
    eleves = half / "0999101E" / "ElevesSansAdresses.xml"
    head = eleves.read_bytes().split(b"<ELEVES>")[0]
    eleves.write_bytes(
        head + b"<ELEVES></ELEVES><STRUCTURES></STRUCTURES></DONNEES></BEE_ELEVES>"
    )

    await scheduler.scan(settings, tmp_path, PLAN)

    depot = tmp_path / DEPOTS["siecle"]
    held = depot / "held" / "SIECLE_versailles_FULL_20260119"
    assert held.is_dir()
    assert "held" in (depot / "held" / f"{held.name}.report.txt").read_text()
    (row,) = await fetch(
        settings, "SELECT id FROM importer.imports WHERE status = 'held'"
    )

    code = await confirm_import(settings, row["id"], out=io.StringIO())

    assert code == EXIT_OK
    assert (depot / "done" / "SIECLE_versailles_FULL_20260119").is_dir()
    assert not held.exists()


async def test_schedule_waits_for_academie_day(settings, tmp_path):
    drop(tmp_path, "siecle", "SIECLE_versailles_FULL_20260112")

    await scheduler.scan(settings, tmp_path, PLAN, weekday="tuesday")
    waiting = (tmp_path / DEPOTS["siecle"] / "SIECLE_versailles_FULL_20260112").is_dir()
    await scheduler.scan(settings, tmp_path, PLAN, weekday="monday")

    assert waiting
    assert (
        tmp_path / DEPOTS["siecle"] / "done" / "SIECLE_versailles_FULL_20260112"
    ).is_dir()


async def test_scan_by_hand_keeps_other_academies(settings, tmp_path):
    drop(tmp_path, "siecle", "SIECLE_lyon_FULL_20260112")

    code = await scheduler.scan(settings, tmp_path, PLAN, academie="versailles")

    assert code == EXIT_OK
    assert (tmp_path / DEPOTS["siecle"] / "SIECLE_lyon_FULL_20260112").is_dir()
