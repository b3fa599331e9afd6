"""Idempotent consumption: a consumer records each message id in the same
transaction as the message's effect, and skips ids it has already recorded."""

import uuid

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
