"""Runs rejected whole, end to end on the session's PostgreSQL: nothing of the
run is applied or published, exit code 2, and the stored reason names the
file and where."""

import io
from pathlib import Path

import pytest

from services.importer.__main__ import EXIT_OK, EXIT_REJECTED, run_import
from services.importer.settings import ImporterSettings

from ..factories import (
    DEFAULT_CHILD,
    eleve,
    eleves_xml,
    onde_responsable_row,
    responsables_xml,
    write_onde,
    write_siecle,
)
from .test_full_import import fetch, outbox

pytestmark = pytest.mark.integration

COLLEGE_A, COLLEGE_B, ECOLE = "0999101E", "0999102F", "0999201N"
SHARED_INE = "9900000001W"


@pytest.fixture
def settings(fresh_database_url, local_stack) -> ImporterSettings:
    return ImporterSettings(
        database_url=fresh_database_url,
        kafka_bootstrap_servers=local_stack.kafka_bootstrap_servers,
        environment="test",
    )


async def run(settings: ImporterSettings, *folders: Path) -> int:
    return await run_import(
        settings, academie="versailles", folders=list(folders), out=io.StringIO()
    )


async def last_reason(settings: ImporterSettings) -> str:
    (row,) = await fetch(
        settings,
        "SELECT status, reason FROM importer.imports ORDER BY id DESC LIMIT 1",
    )
    assert row["status"] == "rejected"
    return row["reason"]


def write_college(folder: Path, uai: str, pupils: str) -> None:
    write_siecle(
        folder / uai, eleves_xml(pupils=pupils, uaj=uai), responsables_xml(uaj=uai)
    )


async def test_shared_ine_rejects_run(settings, tmp_path):
    write_college(
        tmp_path / "before",
        COLLEGE_A,
        eleve("4300001", SHARED_INE) + eleve("4300002", "9900000002E"),
    )
    assert await run(settings, tmp_path / "before") == EXIT_OK
    published = await outbox(settings)

    write_college(
        tmp_path / "run",
        COLLEGE_A,
        eleve("4300001", SHARED_INE) + eleve("4300002", "9900000002E"),
    )
    write_college(
        tmp_path / "run",
        COLLEGE_B,
        eleve("4300001", "9900000003N")
        + eleve("4300002", SHARED_INE, nom="NGUYEN", prenom="Adam"),
    )

    assert await run(settings, tmp_path / "run") == EXIT_REJECTED
    assert await outbox(settings) == published
    reason = await last_reason(settings)
    assert f"{COLLEGE_B}/ElevesSansAdresses.xml: element ELEVE ELEVE_ID='4300002'" in (
        reason
    )
    assert "same INE as element ELEVE ELEVE_ID='4300001' of UAI 0999101E" in reason
    assert SHARED_INE not in reason


async def test_long_first_name_rejects_run(settings, tmp_path):
    pupils = eleve("4300001", SHARED_INE, prenom="A" * 200_000) + eleve(
        "4300002", "9900000002E"
    )
    write_siecle(tmp_path / COLLEGE_A, eleves_xml(pupils=pupils))

    assert await run(settings, tmp_path / COLLEGE_A) == EXIT_REJECTED
    assert await outbox(settings) == []
    reason = await last_reason(settings)
    assert "element ELEVE ELEVE_ID='4300001', child PRENOM" in reason
    assert "PRENOM is 200000 characters long" in reason


async def test_nul_in_email_rejects_run(settings, tmp_path):
    row = onde_responsable_row(DEFAULT_CHILD, email="nadia\x00@example.org")
    write_onde(tmp_path / ECOLE, responsables=row + "\n")

    assert await run(settings, tmp_path / ECOLE) == EXIT_REJECTED
    assert await outbox(settings) == []
    reason = await last_reason(settings)
    assert "responsables.csv: line 2: column 'Courriel' contains" in reason
