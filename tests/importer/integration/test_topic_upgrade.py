"""Outbox rows that a release before the batched import topics left for the
version 1 topics, which nothing reads any more, go to version 2."""

import pytest

from shared.contracts import Topic
from shared.outbox import enqueue_payloads

from .migrations import connect_at_release, upgrade

pytestmark = pytest.mark.integration

V1 = {
    Topic.RESPONSABLES: "educonnect.import.responsables.v1",
    Topic.ELEVES: "educonnect.import.eleves.v1",
}


async def test_version_1_rows_move_to_version_2(fresh_database_url, tmp_path):
    connection = await connect_at_release(
        fresh_database_url, tmp_path / "migrations", "00[12]_*.sql"
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
                    (Topic.LINKS_V1, "9900000001A", "link.removed", '{"a":3}'),
                ],
                source="tests",
            )

        applied = await upgrade(fresh_database_url)
        topics = [
            row["topic"]
            for row in await connection.fetch("SELECT topic FROM outbox ORDER BY id")
        ]
    finally:
        await connection.close()

    assert applied[0] == "003_import_topics_v2.sql"
    assert topics == [Topic.RESPONSABLES, Topic.ELEVES, Topic.LINKS_V1]
