"""Outbox rows that a release before the batched links topic left for its
version 1, published or not, go to version 2."""

import shutil

import asyncpg
import pytest

from shared.contracts import Topic
from shared.db import SHARED_MIGRATIONS, apply_migrations
from shared.outbox import enqueue_payloads

from .conftest import MIGRATIONS

pytestmark = pytest.mark.integration


async def test_version_1_rows_move_to_version_2(fresh_database_url, tmp_path):
    earlier = tmp_path / "migrations"
    earlier.mkdir()
    for path in MIGRATIONS.glob("00[1-4]_*.sql"):
        shutil.copy(path, earlier)
    await apply_migrations(fresh_database_url, "links", SHARED_MIGRATIONS, earlier)
    connection = await asyncpg.connect(
        fresh_database_url, server_settings={"search_path": "links"}
    )
    try:
        for number in (1, 2):
            await enqueue_payloads(
                connection,
                [(Topic.LINKS_V1, "9900000001A", "link.removed", f'{{"n":{number}}}')],
                source="tests",
            )
        await connection.execute(
            "UPDATE outbox SET published_at = now()"
            " WHERE id = (SELECT min(id) FROM outbox)"
        )

        applied = await apply_migrations(
            fresh_database_url, "links", SHARED_MIGRATIONS, MIGRATIONS
        )
        rows = await connection.fetch(
            "SELECT topic, published_at IS NOT NULL AS published FROM outbox"
            " ORDER BY id"
        )
    finally:
        await connection.close()

    assert applied == ["005_links_topic_v2.sql"]
    assert [(row["topic"], row["published"]) for row in rows] == [
        (Topic.LINKS, True),
        (Topic.LINKS, False),
    ]
