"""Cases met in real exports, imported end to end into the session's
PostgreSQL; the outbox shows what each run publishes."""

import io
from pathlib import Path

import pytest

from services.importer.__main__ import EXIT_OK, run_import
from services.importer.settings import ImporterSettings

from ..factories import (
    eleve,
    eleves_xml,
    link,
    onde_eleve_row,
    onde_responsable_row,
    personne,
    responsables_xml,
    structure,
    write_onde,
    write_siecle,
)
from .test_full_import import outbox

pytestmark = pytest.mark.integration

ECOLE, COLLEGE = "0999201N", "0999101E"
INE = "9900000008G"


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


async def test_adult_on_two_rows_imported_once(settings, tmp_path):
    pupils = (
        onde_eleve_row()
        + "\n"
        + onde_eleve_row(prenom="Adam", ine="9900000009R", classe="CP")
        + "\n"
    )
    rows = (
        onde_responsable_row(("BENALI", "Inès", "CE2 M. Imaginaire"))
        + "\n"
        + onde_responsable_row(("BENALI", "Adam", "CP"))
        + "\n"
    )
    write_onde(tmp_path / ECOLE, eleves=pupils, responsables=rows)

    assert await run(settings, tmp_path / ECOLE) == EXIT_OK
    first = await outbox(settings)
    assert await run(settings, tmp_path / ECOLE) == EXIT_OK

    assert [row["type"] for row in first].count("responsable.imported") == 1
    pupils_published = [row for row in first if row["type"] == "eleve.imported"]
    assert len(pupils_published) == 2
    for row in pupils_published:
        assert len(row["payload"]["responsables"]) == 1
    assert await outbox(settings) == first


async def test_cm2_pupil_keeps_ine_in_sixieme(settings, tmp_path):
    # Year 1: the pupil is in CM2 at the école.
    write_onde(tmp_path / "year1" / ECOLE, eleves=onde_eleve_row(ine=INE) + "\n")
    assert await run(settings, tmp_path / "year1" / ECOLE) == EXIT_OK
    (last,) = [row["id"] for row in await outbox(settings)][-1:]

    # Year 2: the école exports without her, the collège with her in 6e.
    write_onde(
        tmp_path / "year2" / ECOLE,
        eleves=onde_eleve_row(prenom="Adam", ine="9900000009R") + "\n",
        responsables=onde_responsable_row(("BENALI", "Adam", "CE2 M. Imaginaire"))
        + "\n",
    )
    write_siecle(
        tmp_path / "year2" / COLLEGE,
        eleves=eleves_xml(
            pupils=eleve("4300001", INE, nom="BENALI", prenom="Inès"),
            structures=structure("4300001", "6A"),
        ),
        responsables=responsables_xml(
            personnes=personne("7100001", nom="BENALI", prenom="Nadia"),
            links=link("4300001", "7100001"),
        ),
    )
    settings = settings.model_copy(update={"hold_share": 1.0})
    assert await run(settings, tmp_path / "year2") == EXIT_OK

    rows = await outbox(settings, last)
    imported = [row for row in rows if row["type"] == "eleve.imported"]
    removed = [row for row in rows if row["type"] == "eleve.removed"]
    siecle = [row for row in imported if row["payload"]["source"] == "siecle"]
    assert [row["key"] for row in siecle] == [INE]
    assert siecle[0]["payload"]["eleve_id"] == INE
    assert [(row["key"], row["payload"]["source"]) for row in removed] == [
        (INE, "onde")
    ]
