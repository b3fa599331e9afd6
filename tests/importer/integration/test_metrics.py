"""An applied import writes its record counters for Prometheus' textfile
collector, because a command ends before anything could scrape it."""

import io

import pytest

from services.importer.__main__ import EXIT_OK, run_import
from services.importer.settings import ImporterSettings

from ..samples import SAMPLES

pytestmark = pytest.mark.integration


async def test_applied_import_writes_row_counters(
    fresh_database_url, local_stack, tmp_path
):
    metrics = tmp_path / "importer.prom"
    settings = ImporterSettings(
        database_url=fresh_database_url,
        kafka_bootstrap_servers=local_stack.kafka_bootstrap_servers,
        environment="test",
        metrics_path=metrics,
    )

    code = await run_import(
        settings,
        academie="versailles",
        folders=[SAMPLES / "siecle" / "week1" / "0999101E"],
        out=io.StringIO(),
    )

    assert code == EXIT_OK
    text = metrics.read_text(encoding="utf-8")
    added_pupils = [
        line
        for line in text.splitlines()
        if line.startswith("import_rows_total{")
        and 'kind="eleve"' in line
        and 'change="added"' in line
    ]
    assert added_pupils, text
    assert float(added_pupils[0].rsplit(" ", 1)[1]) >= 22


async def test_dry_run_writes_no_metrics(fresh_database_url, local_stack, tmp_path):
    metrics = tmp_path / "importer.prom"
    settings = ImporterSettings(
        database_url=fresh_database_url,
        kafka_bootstrap_servers=local_stack.kafka_bootstrap_servers,
        environment="test",
        metrics_path=metrics,
    )

    code = await run_import(
        settings,
        academie="versailles",
        folders=[SAMPLES / "siecle" / "week1" / "0999101E"],
        dry_run=True,
        out=io.StringIO(),
    )

    assert code == EXIT_OK
    assert not metrics.exists()
