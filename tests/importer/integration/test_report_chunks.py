"""Report lines stored in chunks: numbering, order, totals and holds as one
row per line gave them, and the lines of an earlier release kept."""

from pathlib import Path

import asyncpg
import pytest

from services.importer.reports import (
    ReportLine,
    ReportWriter,
    finish_import,
    load_report,
    start_import,
)

from .migrations import connect_at_release, upgrade

pytestmark = pytest.mark.integration

LINES = [
    ReportLine("added", "responsable", "siecle:1", "new in the export", "siecle", "0"),
    ReportLine("added", "responsable", "siecle:2", "new in the export", "siecle", "0"),
    ReportLine("added", "eleve", "E1", "new in the export, 2 links", "siecle", "0"),
    ReportLine("added", "eleve", "E2", "new in the export, 1 links", "siecle", "1"),
    ReportLine("removed", "eleve", "E3", "absent from the full export", "siecle", "1"),
    ReportLine("added", "eleve", "E4", "new in the export, 1 links", "siecle", "1"),
    ReportLine("removed", "responsable", "siecle:3", "no pupil", "siecle"),
]


@pytest.fixture
async def connection(fresh_database_url):
    await upgrade(fresh_database_url)
    connection = await asyncpg.connect(
        fresh_database_url, server_settings={"search_path": "importer"}
    )
    yield connection
    await connection.close()


async def new_import(connection) -> int:
    return await start_import(
        connection, academie="versailles", kind="full", folders=[Path("/x")]
    )


@pytest.mark.parametrize("buffer_lines", [0, 1, 2, 100])
@pytest.mark.parametrize("calls", [1, 3])
async def test_lines_come_back_numbered_in_order(connection, buffer_lines, calls):
    import_id = await new_import(connection)
    writer = ReportWriter(connection, import_id, buffer_lines=buffer_lines)
    for start in range(0, len(LINES), len(LINES) // calls + 1):
        await writer.write(iter(LINES[start : start + len(LINES) // calls + 1]))
    await writer.flush()

    rows = await connection.fetch(
        "SELECT line_number, action, entity, entity_id, reason, source, uai"
        " FROM import_report_lines WHERE import_id = $1 ORDER BY line_number",
        import_id,
    )
    assert [row["line_number"] for row in rows] == list(range(1, len(LINES) + 1))
    assert [
        ReportLine(
            row["action"],
            row["entity"],
            row["entity_id"],
            row["reason"],
            row["source"],
            row["uai"],
        )
        for row in rows
    ] == LINES


async def test_consecutive_lines_of_one_kind_share_a_chunk(connection):
    import_id = await new_import(connection)
    writer = ReportWriter(connection, import_id, buffer_lines=100)
    await writer.write(LINES)
    await writer.flush()

    chunks = await connection.fetch(
        "SELECT first_line, action, entity, uai, entity_ids FROM import_report_chunks"
        " WHERE import_id = $1 ORDER BY first_line",
        import_id,
    )
    assert [tuple(chunk) for chunk in chunks] == [
        (1, "added", "responsable", "0", ["siecle:1", "siecle:2"]),
        (3, "added", "eleve", "0", ["E1"]),
        (4, "added", "eleve", "1", ["E2"]),
        (5, "removed", "eleve", "1", ["E3"]),
        (6, "added", "eleve", "1", ["E4"]),
        (7, "removed", "responsable", None, ["siecle:3"]),
    ]


async def test_held_report_totals_and_reasons(connection):
    import_id = await new_import(connection)
    writer = ReportWriter(connection, import_id, buffer_lines=100)
    await writer.write(LINES)
    await writer.mark_held()
    totals = await finish_import(connection, import_id, "held")
    report = await load_report(connection, import_id)

    assert totals == {"eleve": {"held": 4}, "responsable": {"held": 3}}
    assert [(line.action, line.entity_id, line.reason) for line in report.lines] == [
        ("held", line.entity_id, f"would be {line.action}: {line.reason}")
        for line in LINES
    ]


async def test_report_sample_keeps_first_lines_of_each_kind(connection):
    import_id = await new_import(connection)
    writer = ReportWriter(connection, import_id)
    await writer.write(LINES)
    await finish_import(connection, import_id, "applied")

    report = await load_report(connection, import_id, line_limit=1)

    assert [line.entity_id for line in report.lines] == [
        "siecle:1",
        "E1",
        "E3",
        "siecle:3",
    ]


async def test_lines_of_an_earlier_release_are_kept(fresh_database_url, tmp_path):
    connection = await connect_at_release(
        fresh_database_url, tmp_path / "migrations", "00[123]_*.sql"
    )
    try:
        import_id = await new_import(connection)
        await connection.executemany(
            "INSERT INTO import_report_lines (import_id, line_number, action,"
            " entity, source, uai, entity_id, reason)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (
                    import_id,
                    number,
                    line.action,
                    line.entity,
                    line.source,
                    line.uai,
                    line.entity_id,
                    line.reason,
                )
                for number, line in enumerate(LINES, start=1)
            ],
        )
        applied = await upgrade(fresh_database_url)
        totals = await finish_import(connection, import_id, "applied")
        report = await load_report(connection, import_id)
        chunks = await connection.fetch(
            "SELECT first_line, entity_ids FROM import_report_chunks"
            " WHERE import_id = $1 ORDER BY first_line",
            import_id,
        )
    finally:
        await connection.close()

    assert applied == ["004_report_chunks.sql"]
    assert list(report.lines) == LINES
    # The same chunks as the writer makes (see the test above).
    assert [(chunk["first_line"], chunk["entity_ids"]) for chunk in chunks] == [
        (1, ["siecle:1", "siecle:2"]),
        (3, ["E1"]),
        (4, ["E2"]),
        (5, ["E3"]),
        (6, ["E4"]),
        (7, ["siecle:3"]),
    ]
    assert totals == {
        "eleve": {"added": 3, "removed": 1},
        "responsable": {"added": 2, "removed": 1},
    }
