"""Outbox rows that a release before the batched import topics left for the
version 1 topics, which nothing reads any more, go to version 2."""

import shutil
from pathlib import Path

import asyncpg
import pytest

from shared.contracts import Topic
from shared.db import SHARED_MIGRATIONS, apply_migrations
from shared.outbox import enqueue_payloads

pytestmark = pytest.mark.integration

MIGRATIONS = (
    Path(__file__).resolve().parents[3] / "services" / "importer" / "migrations"
)
V1 = {
    Topic.RESPONSABLES: "educonnect.import.responsables.v1",
    Topic.ELEVES: "educonnect.import.eleves.v1",
}


async def test_version_1_rows_move_to_version_2(fresh_database_url, tmp_path):
    before = tmp_path / "migrations"
    before.mkdir()
    for path in MIGRATIONS.glob("00[12]_*.sql"):
        shutil.copy(path, before)
    await apply_migrations(fresh_database_url, "importer", SHARED_MIGRATIONS, before)
    connection = await asyncpg.connect(
        fresh_database_url, server_settings={"search_path": "importer"}
    )
    try:
        async with connection.transaction():
            await enqueue_payloads(
                connection,
                [
                    (
                        V1[Topic.RESPONSABLES],
                        "siecle:1",
                        "responsable.removed",
                        '{"a":1}',
                    ),
                    (V1[Topic.ELEVES], "9900000001A", "eleve.removed", '{"a":2}'),
                    (Topic.LINKS, "9900000001A", "link.removed", '{"a":3}'),
                ],
                source="tests",
            )

        applied = await apply_migrations(
            fresh_database_url, "importer", SHARED_MIGRATIONS, MIGRATIONS
        )
        topics = [
            row["topic"]
            for row in await connection.fetch("SELECT topic FROM outbox ORDER BY id")
        ]
    finally:
        await connection.close()

    assert applied[0] == "003_import_topics_v2.sql"
    assert topics == [Topic.RESPONSABLES, Topic.ELEVES, Topic.LINKS]
