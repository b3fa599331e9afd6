"""Held full imports, their confirmation, deltas, and the report every run
leaves, against the session's PostgreSQL and Kafka."""

import io
import json
import os
from pathlib import Path

import pytest

from services.importer.__main__ import (
    EXIT_FAILED,
    EXIT_HELD,
    EXIT_OK,
    EXIT_REJECTED,
    confirm_import,
    print_report,
    run_import,
)
from services.importer.settings import ImporterSettings

from ..factories import (
    UAI,
    eleve,
    eleves_xml,
    link,
    personne,
    responsables_xml,
    structure,
    write_onde,
    write_siecle,
)
from .test_full_import import fetch, of_type, outbox

pytestmark = pytest.mark.integration

ACADEMIE = "versailles"
# Pupils 4300001…4300012, each with a mother of their own.
PUPILS = [(f"43000{n:02d}", f"71000{n:02d}") for n in range(1, 13)]


@pytest.fixture
def settings(fresh_database_url, local_stack) -> ImporterSettings:
    return ImporterSettings(
        database_url=fresh_database_url,
        kafka_bootstrap_servers=local_stack.kafka_bootstrap_servers,
        environment="test",
    )


def ine(number: int) -> str:
    return f"99000001{number:02d}K"


def school(folder: Path, numbers: range | list[int]) -> Path:
    """Write a SIECLE school whose pupils are ``numbers`` of PUPILS (1-based),
    each with a mother of their own."""
    pupils = structures = personnes = links = ""
    for number in numbers:
        eleve_id, personne_id = PUPILS[number - 1]
        pupils += eleve(eleve_id, ine(number), prenom=f"Zoé{number}")
        structures += structure(eleve_id, "5A")
        personnes += personne(personne_id, email=f"mere{number}@example.org")
        links += link(eleve_id, personne_id)
    write_siecle(
        folder / UAI,
        eleves=eleves_xml(pupils=pupils, structures=structures),
        responsables=responsables_xml(personnes=personnes, links=links),
    )
    return folder


async def run(
    settings: ImporterSettings, folder: Path, *, delta: bool = False
) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_import(
        settings,
        academie=ACADEMIE,
        folders=[folder],
        kind="delta" if delta else "full",
        out=out,
    )
    return code, out.getvalue()


async def imports(settings: ImporterSettings) -> list[dict]:
    rows = await fetch(
        settings,
        "SELECT id, kind, status, reason, totals::text, measures::text,"
        " confirmed_by, confirms FROM importer.imports ORDER BY id",
    )
    return [dict(row) for row in rows]


async def report_lines(settings: ImporterSettings, import_id: int) -> list[dict]:
    rows = await fetch(
        settings,
        "SELECT action, entity, entity_id, reason FROM importer.import_report_lines"
        " WHERE import_id = $1 ORDER BY line_number",
        import_id,
    )
    return [dict(row) for row in rows]


async def report_text(settings: ImporterSettings, *args, **kwargs) -> str:
    out = io.StringIO()
    code = await print_report(settings, *args, out=out, **kwargs)
    assert code == EXIT_OK
    return out.getvalue()


async def test_export_losing_half_is_held(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    (before,) = await fetch(settings, "SELECT count(*) AS n FROM importer.outbox")

    code, output = await run(settings, school(tmp_path / "week2", range(1, 6)))

    assert code == EXIT_HELD
    assert "held: would remove 5 of 10 pupils (50.0%, more than 10%)" in output
    (after,) = await fetch(settings, "SELECT count(*) AS n FROM importer.outbox")
    assert after["n"] == before["n"]
    pupils = await fetch(settings, "SELECT eleve_id FROM importer.snapshot_eleves")
    assert len(pupils) == 10
    held = (await imports(settings))[1]
    assert held["status"] == "held"
    lines = await report_lines(settings, held["id"])
    assert len(lines) == 10
    assert {line["action"] for line in lines} == {"held"}
    assert lines[0]["reason"].startswith("would be removed: absent from")


async def test_confirmed_held_import_is_applied(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    await run(settings, school(tmp_path / "week2", range(1, 6)))

    out = io.StringIO()
    code = await confirm_import(settings, 2, out=out)

    assert code == EXIT_OK, out.getvalue()
    held, confirming = (await imports(settings))[1:]
    assert held["confirmed_by"] == confirming["id"]
    assert confirming["confirms"] == held["id"]
    assert confirming["status"] == "applied"
    removed = of_type(await outbox(settings), "eleve.removed")
    assert sorted(removed) == sorted(ine(n) for n in range(6, 11))


async def test_held_import_confirmed_once_only(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    await run(settings, school(tmp_path / "week2", range(1, 6)))
    await confirm_import(settings, 2, out=io.StringIO())

    code = await confirm_import(settings, 2, out=io.StringIO())

    assert code == EXIT_FAILED
    assert len(await imports(settings)) == 3


async def test_held_import_with_changed_file_is_not_confirmed(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    week2 = school(tmp_path / "week2", range(1, 6))
    await run(settings, week2)
    changed = week2 / UAI / "ElevesSansAdresses.xml"
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    code = await confirm_import(settings, 2, out=io.StringIO())

    assert code == EXIT_FAILED
    assert len(await fetch(settings, "SELECT 1 FROM importer.snapshot_eleves")) == 10


async def test_removal_within_share_is_applied(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))

    code, _ = await run(settings, school(tmp_path / "week2", range(1, 10)))

    assert code == EXIT_OK
    assert (await imports(settings))[1]["status"] == "applied"


async def test_hold_share_is_configurable(settings, tmp_path):
    settings = settings.model_copy(update={"hold_share": 0.6})
    await run(settings, school(tmp_path / "week1", range(1, 11)))

    code, _ = await run(settings, school(tmp_path / "week2", range(1, 6)))

    assert code == EXIT_OK


async def test_links_lost_beyond_share_hold_import(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    week2 = school(tmp_path / "week2", range(1, 11))
    without_links = responsables_xml(personnes=personne("7100001"), links="")
    (week2 / UAI / "ResponsablesAvecAdresses.xml").write_bytes(
        without_links.encode("iso-8859-15")
    )

    code, output = await run(settings, week2)

    assert code == EXIT_HELD
    assert "would remove 10 of 10 links" in output


async def test_delta_never_removes_what_it_does_not_name(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    (last,) = await fetch(settings, "SELECT max(id) AS id FROM importer.outbox")

    code, _ = await run(settings, school(tmp_path / "delta", [3, 11]), delta=True)

    assert code == EXIT_OK
    rows = await outbox(settings, last["id"])
    assert [row["type"] for row in rows] == ["responsable.imported", "eleve.imported"]
    assert rows[1]["key"] == ine(11)
    pupils = await fetch(settings, "SELECT eleve_id FROM importer.snapshot_eleves")
    assert len(pupils) == 11


async def test_report_totals_equal_detail_lines(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    await run(settings, school(tmp_path / "week2", [*range(2, 11), 11]))

    for row in await imports(settings):
        lines = await report_lines(settings, row["id"])
        counted: dict[str, dict[str, int]] = {}
        for line in lines:
            actions = counted.setdefault(line["entity"], {})
            actions[line["action"]] = actions.get(line["action"], 0) + 1
        assert json.loads(row["totals"]) == counted


async def test_report_names_ids_and_reasons(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    await run(settings, school(tmp_path / "week2", [*range(2, 11), 11]))

    text = await report_text(settings, None)

    assert text.startswith("import 2: académie versailles, full, applied")
    assert "totals: eleve added 1 removed 1; responsable added 1 removed 1" in text
    assert f"  removed eleve {ine(1)} siecle {UAI}: absent from" in text
    assert f"  added eleve {ine(11)} siecle {UAI}: new in the export" in text
    assert "  removed responsable siecle:7100001 siecle" in text


async def test_same_file_again_leaves_empty_report(settings, tmp_path):
    folder = school(tmp_path / "week1", range(1, 11))
    await run(settings, folder)

    code, output = await run(settings, folder)

    assert code == EXIT_OK
    assert "import 2: applied, no change" in output
    assert await report_lines(settings, 2) == []


async def test_rejected_run_report_names_file_and_line(settings, tmp_path):
    write_onde(
        tmp_path / "0999201N",
        eleves=(
            "BENALI;;Inès;31/02/2012;F;9900000008G;1 rue Haute;99110;BELLETERRE;"
            "FRANCE;;;;;CYCLE II;CE2;CE2 M. Imaginaire;41002;Oui;Non;Non;\n"
        ),
    )

    code, _ = await run(settings, tmp_path)

    assert code == EXIT_REJECTED
    (row,) = await imports(settings)
    assert row["status"] == "rejected"
    (line,) = await report_lines(settings, row["id"])
    assert line["entity_id"].endswith("0999201N/eleves.csv")
    assert line["reason"] == (
        "line 2: ligne 2 : date impossible « 31/02/2012 » : format attendu "
        "JJ/MM/AAAA (jour/mois/année)"
    )


async def test_dry_run_leaves_report_with_sample(settings, tmp_path):
    out = io.StringIO()
    code = await run_import(
        settings,
        academie=ACADEMIE,
        folders=[school(tmp_path / "week1", range(1, 11))],
        dry_run=True,
        out=out,
    )

    assert code == EXIT_OK
    output = out.getvalue()
    assert "import 1: dry_run, eleve added 10; responsable added 10" in output
    assert output.count("  added eleve ") == 5
    assert output.count("  added responsable ") == 5
    assert (await imports(settings))[0]["status"] == "dry_run"
    assert await fetch(settings, "SELECT 1 FROM importer.snapshot_eleves") == []


async def test_delta_removes_pupil_it_names_as_left(settings, tmp_path):
    await run(settings, school(tmp_path / "week1", range(1, 11)))
    (last,) = await fetch(settings, "SELECT max(id) AS id FROM importer.outbox")
    eleve_id, personne_id = PUPILS[2]
    write_siecle(
        tmp_path / "delta" / UAI,
        eleves=eleves_xml(
            pupils=eleve(eleve_id, ine(3), prenom="Zoé3", date_sortie="05/01/2026"),
            structures=structure(eleve_id, "5A"),
        ),
        responsables=responsables_xml(
            personnes=personne(personne_id, email="mere3@example.org"),
            links=link(eleve_id, personne_id),
        ),
    )

    code, _ = await run(settings, tmp_path / "delta", delta=True)

    assert code == EXIT_OK
    rows = await outbox(settings, last["id"])
    assert [(row["type"], row["key"]) for row in rows] == [("eleve.removed", ine(3))]
    pupils = await fetch(settings, "SELECT eleve_id FROM importer.snapshot_eleves")
    assert len(pupils) == 9
