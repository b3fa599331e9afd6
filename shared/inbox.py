"""Idempotent consumption: a consumer records each message id in the same
transaction as the message's effect, and skips ids it has already recorded."""

import uuid
from collections.abc import Sequence

import asyncpg


async def first_delivery(
    connection: asyncpg.Connection, *, consumer: str, event_id: uuid.UUID
) -> bool:
    """Record ``event_id`` as processed by ``consumer`` in the caller's
    transaction. Returns False when it was already recorded, in which case the
    caller must apply nothing."""
    inserted = await connection.fetchval(
        "INSERT INTO processed_messages (consumer, event_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        event_id,
    )
    return bool(inserted)


async def first_deliveries(
    connection: asyncpg.Connection,
    *,
    consumer: str,
    event_ids: Sequence[uuid.UUID],
) -> set[uuid.UUID]:
    """Record ``event_ids`` as processed by ``consumer`` in the caller's
    transaction, with one statement. Returns those that were not recorded
    before: the caller applies these and nothing else, each once even when
    ``event_ids`` repeats it."""
    rows = await connection.fetch(
        "INSERT INTO processed_messages (consumer, event_id)"
        " SELECT $1, event_id FROM unnest($2::uuid[]) AS t(event_id)"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        consumer,
        list(event_ids),
    )
    return {row["event_id"] for row in rows}
