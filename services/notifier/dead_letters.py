"""Consumed messages that no retry can process, kept whole in the
``dead_letters`` table for an operator to inspect and replay."""

import json
from dataclasses import dataclass
from typing import Protocol

import asyncpg


@dataclass(frozen=True)
class DeadLetter:
    """A Kafka message as received, and why it cannot be processed."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, str]
    payload: bytes | None
    reason: str


class DeadLetterStore(Protocol):
    """Storage of dead letters."""

    async def add(self, letter: DeadLetter) -> None:
        """Store ``letter``; storing the same topic, partition and offset
        again changes nothing."""


class PostgresDeadLetterStore:
    """Dead letters in the notifier's schema."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, letter: DeadLetter) -> None:
        await self._pool.execute(
            'INSERT INTO dead_letters (topic, "partition", "offset", key, headers,'
            " payload, reason) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)"
            ' ON CONFLICT (topic, "partition", "offset") DO NOTHING',
            letter.topic,
            letter.partition,
            letter.offset,
            letter.key,
            json.dumps(letter.headers),
            letter.payload,
            letter.reason,
        )
