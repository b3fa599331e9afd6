import uuid

import pytest

from services.notifier.dead_letters import DeadLetter, PostgresDeadLetterStore
from services.notifier.directory import load_directory
from services.notifier.handlers import compose_refusal_mail
from services.notifier.mail_queue import PostgresMailQueue
from shared.logging import correlation_id_var

from ..factories import make_refusal

pytestmark = pytest.mark.integration

CONSUMER = "notifier.refusals"


def refusal_mail(academie="versailles"):
    return compose_refusal_mail(
        make_refusal(academie=academie),
        uuid.uuid4(),
        directory=load_directory(),
        correction_days=30,
    )


async def mail_rows(pool):
    return await pool.fetch("SELECT * FROM mail_queue ORDER BY id")


async def test_add_once_stores_mail(pool):
    mail = refusal_mail()

    added = await PostgresMailQueue(pool).add_once(
        consumer=CONSUMER, event_id=mail.event_id, mail=mail
    )

    rows = await mail_rows(pool)
    assert added is True
    assert len(rows) == 1
    assert rows[0]["status"] == "queued"
    assert rows[0]["message_id"] == mail.message_id
    assert rows[0]["to_addresses"] == list(mail.to)
    assert rows[0]["cc_addresses"] == list(mail.cc)
    assert rows[0]["body_html"] == mail.html


async def test_add_once_skips_known_event(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail()

    await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)
    added = await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    assert added is False
    assert len(await mail_rows(pool)) == 1


async def test_add_once_records_event_without_mail(pool):
    event_id = uuid.uuid4()

    await PostgresMailQueue(pool).add_once(
        consumer=CONSUMER, event_id=event_id, mail=None
    )

    recorded = await pool.fetchval(
        "SELECT count(*) FROM processed_messages WHERE event_id = $1", event_id
    )
    assert recorded == 1
    assert await mail_rows(pool) == []


async def test_unknown_academie_stored_parked(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail(academie="atlantide")

    await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    rows = await mail_rows(pool)
    assert rows[0]["status"] == "parked"
    assert rows[0]["parked_reason"] == "unknown académie 'atlantide'"
    async with queue.claim_next() as claim:
        assert claim is None


async def test_claim_returns_due_mail(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail()
    await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    async with queue.claim_next() as claim:
        claimed = claim.queued

    assert claimed.mail == mail
    assert claimed.attempts == 0


async def test_claim_carries_correlation_id(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail()
    token = correlation_id_var.set("correlation-of-the-refusal")
    try:
        await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)
    finally:
        correlation_id_var.reset(token)

    async with queue.claim_next() as claim:
        claimed = claim.queued

    assert claimed.correlation_id == "correlation-of-the-refusal"


async def test_concurrent_claims_skip_locked_mail(pool):
    queue = PostgresMailQueue(pool)
    first, second = refusal_mail(), refusal_mail()
    for mail in (first, second):
        await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    async with queue.claim_next() as one, queue.claim_next() as other:
        claimed = {one.queued.mail.message_id, other.queued.mail.message_id}

    assert claimed == {first.message_id, second.message_id}


async def test_only_locked_mail_gives_no_claim(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail()
    await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    async with queue.claim_next() as one, queue.claim_next() as other:
        assert one is not None
        assert other is None


async def test_retry_postpones_mail(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail()
    await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    async with queue.claim_next() as claim:
        await claim.mark_for_retry(error="connection refused", delay_seconds=60)
    async with queue.claim_next() as later:
        assert later is None

    row = (await mail_rows(pool))[0]
    assert row["status"] == "queued"
    assert row["attempts"] == 1
    assert row["last_error"] == "connection refused"
    delay = await pool.fetchval(
        "SELECT extract(epoch FROM next_attempt_at - now()) FROM mail_queue"
    )
    assert 55 < delay <= 60


async def test_mark_sent(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail()
    await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    async with queue.claim_next() as claim:
        await claim.mark_sent()

    row = (await mail_rows(pool))[0]
    assert row["status"] == "sent"
    assert row["sent_at"] is not None
    assert row["attempts"] == 1


async def test_mark_parked(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail()
    await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    async with queue.claim_next() as claim:
        await claim.mark_parked(reason="recipients rejected: 550")

    row = (await mail_rows(pool))[0]
    assert row["status"] == "parked"
    assert row["parked_reason"] == "recipients rejected: 550"


async def test_failed_send_leaves_mail_queued(pool):
    queue = PostgresMailQueue(pool)
    mail = refusal_mail()
    await queue.add_once(consumer=CONSUMER, event_id=mail.event_id, mail=mail)

    with pytest.raises(RuntimeError):
        async with queue.claim_next():
            raise RuntimeError("sender died mid-send")

    async with queue.claim_next() as claim:
        assert claim is not None


async def test_dead_letter_stored_once(pool):
    store = PostgresDeadLetterStore(pool)
    letter = DeadLetter(
        topic="educonnect.links.v1",
        partition=1,
        offset=42,
        key=b"9900000001K",
        headers={"ce_type": "link.unknown"},
        payload=b'{"type": "link.unknown"}',
        reason="payload does not match the link event contract",
    )

    await store.add(letter)
    await store.add(letter)

    rows = await pool.fetch("SELECT * FROM dead_letters")
    assert len(rows) == 1
    assert rows[0]["payload"] == letter.payload
    assert rows[0]["reason"] == letter.reason
