"""Correction cases in PostgreSQL: the handlers and the scheduler on the real
tables, the ``tick`` command, and the parked mail and dead letter commands."""

import asyncio
import sys
import uuid
from datetime import UTC, datetime

import pytest

from services.notifier.cases import PostgresCaseBook
from services.notifier.dead_letters import DeadLetter, PostgresDeadLetterStore
from services.notifier.directory import load_directory
from services.notifier.handlers import Outcome, handle_link_event
from services.notifier.mail_queue import PostgresMailQueue
from services.notifier.parked import (
    list_dead_letters,
    list_parked,
    replay_dead_letters,
    resend_parked,
)
from services.notifier.scheduler import CaseScheduler
from shared.contracts import Topic
from shared.devstack.kafka import REPO_ROOT

from ..factories import make_refusal, make_removal, make_withdrawal

pytestmark = pytest.mark.integration


async def handle(pool, event, event_id=None):
    return await handle_link_event(
        event,
        event_id or uuid.uuid4(),
        queue=PostgresMailQueue(pool),
        cases=PostgresCaseBook(pool),
        directory=load_directory(),
        correction_days=30,
    )


def scheduler(pool):
    return CaseScheduler(PostgresCaseBook(pool), load_directory(), reminder_days=5)


async def mails(pool, kind):
    return await pool.fetch(
        "SELECT * FROM mail_queue WHERE kind = $1 ORDER BY id", kind
    )


async def case_row(pool, link_id):
    return await pool.fetchrow(
        "SELECT * FROM cases WHERE link_id = $1 ORDER BY id DESC LIMIT 1", link_id
    )


async def test_refusal_opens_case_with_deadline(pool):
    refusal = make_refusal()
    event_id = uuid.uuid4()

    await handle(pool, refusal, event_id)

    case = await case_row(pool, refusal.link_id)
    assert case["status"] == "open"
    assert case["opened_by"] == event_id
    assert case["deadline"].isoformat() == "2020-02-14"
    assert case["source"] == "siecle"
    assert len(await mails(pool, "refusal")) == 1


async def test_clock_forward_reminds_then_escalates(pool):
    refusal = make_refusal()
    await handle(pool, refusal)
    schedule = scheduler(pool)

    early = await schedule.run_once(datetime(2020, 2, 8, 11, tzinfo=UTC))
    reminder_day = await schedule.run_once(datetime(2020, 2, 9, 11, tzinfo=UTC))
    deadline_day = await schedule.run_once(datetime(2020, 2, 14, 11, tzinfo=UTC))
    later = await schedule.run_once(datetime(2020, 2, 20, 11, tzinfo=UTC))

    assert (early.reminders, early.escalations) == (0, 0)
    assert (reminder_day.reminders, reminder_day.escalations) == (1, 0)
    assert (deadline_day.reminders, deadline_day.escalations) == (0, 1)
    assert (later.reminders, later.escalations) == (0, 0)
    [reminder] = await mails(pool, "reminder")
    [escalation] = await mails(pool, "escalation")
    assert reminder["to_addresses"] == ["diffusion-siecle@ac-versailles.example"]
    assert escalation["to_addresses"] == ["assistance@ac-versailles.example"]
    case = await case_row(pool, refusal.link_id)
    assert case["reminded_at"] == datetime(2020, 2, 9, 11, tzinfo=UTC)
    assert case["escalated_at"] == datetime(2020, 2, 14, 11, tzinfo=UTC)


async def test_concurrent_ticks_queue_one_reminder(pool):
    await handle(pool, make_refusal())
    now = datetime(2020, 2, 10, 11, tzinfo=UTC)

    reports = await asyncio.gather(*(scheduler(pool).run_once(now) for _ in range(4)))

    assert sum(report.reminders for report in reports) == 1
    assert sum(report.digests for report in reports) == 1
    assert len(await mails(pool, "reminder")) == 1
    assert len(await mails(pool, "digest")) == 1


@pytest.mark.parametrize(
    "closing, reason", [(make_withdrawal, "withdrawn"), (make_removal, "corrected")]
)
async def test_closing_event_closes_case(pool, closing, reason):
    refusal = make_refusal()
    await handle(pool, refusal)
    event_id = uuid.uuid4()

    first = await handle(pool, closing(refusal), event_id)
    again = await handle(pool, closing(refusal), event_id)

    assert first is Outcome.CLOSED
    assert again is Outcome.DUPLICATE
    case = await case_row(pool, refusal.link_id)
    assert case["status"] == "closed"
    assert case["closed_reason"] == reason
    assert case["closed_by"] == event_id
    [notice] = await mails(pool, "closure")
    assert notice["message_id"] == f"<{event_id}.closure@educonnect.example>"
    assert notice["to_addresses"] == ["diffusion-siecle@ac-versailles.example"]
    report = await scheduler(pool).run_once(datetime(2020, 2, 20, 11, tzinfo=UTC))
    assert report.total == 0


async def test_link_refused_again_opens_new_case(pool):
    refusal = make_refusal()
    await handle(pool, refusal)
    await handle(pool, make_withdrawal(refusal))

    await handle(pool, refusal, uuid.uuid4())

    statuses = await pool.fetch(
        "SELECT status FROM cases WHERE link_id = $1 ORDER BY id", refusal.link_id
    )
    assert [row["status"] for row in statuses] == ["closed", "open"]


async def test_tick_command_queues_due_mails(notifier_database_url, pool, local_stack):
    await handle(pool, make_refusal())
    env = {
        **local_stack.process_env("notifier"),
        "NOTIFIER_DATABASE_URL": notifier_database_url,
        "NOTIFIER_SMTP_HOST": "127.0.0.1",
        "NOTIFIER_SMTP_PORT": "2525",
        "NOTIFIER_ENVIRONMENT": "test",
    }

    completed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.notifier",
        "tick",
        "--now",
        "2020-02-10T09:00:00+01:00",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await completed.communicate()

    assert completed.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == (
        "queued 1 reminder(s), 0 escalation(s), 1 digest(s)"
    )
    assert len(await mails(pool, "reminder")) == 1


async def test_resend_requeues_parked_mail(pool):
    await handle(pool, make_refusal())
    mail_id = await pool.fetchval("SELECT id FROM mail_queue")
    await pool.execute(
        "UPDATE mail_queue SET status = 'parked', parked_reason = '550 no such user',"
        " attempts = 1 WHERE id = $1",
        mail_id,
    )

    [parked] = await list_parked(pool)
    results = await resend_parked(pool, None, directory=load_directory())

    assert parked.id == mail_id
    assert parked.reason == "550 no such user"
    assert [result.error for result in results] == [None]
    row = await pool.fetchrow("SELECT * FROM mail_queue WHERE id = $1", mail_id)
    assert row["status"] == "queued"
    assert row["parked_reason"] is None
    assert row["attempts"] == 1
    assert await list_parked(pool) == []


async def test_resend_fills_recipients_once_academie_known(pool, tmp_path):
    await handle(pool, make_refusal(academie="atlantide", source="onde"))
    mail_id = await pool.fetchval("SELECT id FROM mail_queue")
    directory_file = tmp_path / "directory.toml"
    directory_file.write_text(
        '[atlantide]\nname = "Atlantide"\n'
        'onde = "onde@ac-atlantide.example"\n'
        'siecle = "siecle@ac-atlantide.example"\n'
        'educonnect = "educonnect@ac-atlantide.example"\n'
        'assistance = "assistance@ac-atlantide.example"\n'
    )

    unknown = await resend_parked(pool, [mail_id], directory=load_directory())
    known = await resend_parked(
        pool, [mail_id], directory=load_directory(directory_file)
    )

    assert "still missing from the directory" in unknown[0].error
    assert known[0].error is None
    row = await pool.fetchrow("SELECT * FROM mail_queue WHERE id = $1", mail_id)
    assert row["status"] == "queued"
    assert row["to_addresses"] == ["onde@ac-atlantide.example"]
    assert row["cc_addresses"] == ["educonnect@ac-atlantide.example"]


async def test_resend_of_unknown_mail_reports_it(pool):
    [result] = await resend_parked(pool, [424242], directory=load_directory())

    assert result.error == "mail 424242 not found; list parked mails with 'parked list'"


@pytest.mark.parametrize(
    ("topic", "batched"),
    [(Topic.LINKS, True), (Topic.LINKS, False), (Topic.LINKS_V1, False)],
    ids=["batch of one", "lone event on v2", "event on v1"],
)
async def test_replay_handles_fixed_dead_letter(pool, topic, batched):
    refusal = make_refusal()
    event_id = uuid.uuid4()
    headers = {"ce_id": str(event_id), "ce_type": "link.refused"}
    payload = refusal.model_dump_json()
    await PostgresDeadLetterStore(pool).add(
        DeadLetter(
            topic=topic,
            partition=0,
            offset=7,
            key=None,
            headers=headers,
            payload=(f"[{payload}]" if batched else payload).encode(),
            reason="payload does not match the link event contract",
        )
    )
    letter_id = await pool.fetchval("SELECT id FROM dead_letters")

    first = await replay_dead_letters(
        pool, None, directory=load_directory(), correction_days=30
    )
    again = await replay_dead_letters(
        pool, None, directory=load_directory(), correction_days=30
    )

    assert [(result.id, result.error) for result in first] == [(letter_id, None)]
    assert again == []
    assert len(await mails(pool, "refusal")) == 1
    assert (await case_row(pool, refusal.link_id))["opened_by"] == event_id
    [letter] = await list_dead_letters(pool)
    assert letter.replayed_at is not None


@pytest.mark.parametrize(
    ("payload", "named"),
    [(b'[{"type": "link.refused"}]', "0.link.refused.academie"), (b"5", "valid array")],
    ids=["event without fields", "number"],
)
async def test_replay_keeps_unreadable_dead_letter(pool, payload, named):
    await PostgresDeadLetterStore(pool).add(
        DeadLetter(
            topic=Topic.LINKS,
            partition=0,
            offset=8,
            key=None,
            headers={"ce_id": str(uuid.uuid4())},
            payload=payload,
            reason="payload does not match the link event contract",
        )
    )

    [result] = await replay_dead_letters(
        pool, None, directory=load_directory(), correction_days=30
    )

    assert result.error.startswith(f"dead letter {result.id} is still unreadable")
    assert named in result.error
    [letter] = await list_dead_letters(pool)
    assert letter.replayed_at is None


async def test_parked_list_command(notifier_database_url, pool, local_stack):
    await handle(pool, make_refusal(academie="atlantide"))
    mail_id = await pool.fetchval("SELECT id FROM mail_queue")
    env = {
        **local_stack.process_env("notifier"),
        "NOTIFIER_DATABASE_URL": notifier_database_url,
        "NOTIFIER_SMTP_HOST": "127.0.0.1",
        "NOTIFIER_SMTP_PORT": "2525",
        "NOTIFIER_ENVIRONMENT": "test",
    }

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.notifier",
        "parked",
        "list",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()

    assert process.returncode == 0, stderr.decode()
    [line] = stdout.decode().splitlines()
    fields = line.split("\t")
    assert fields[0] == str(mail_id)
    assert fields[2:5] == ["refusal", "atlantide", "-"]
    assert fields[6] == "unknown académie 'atlantide'"
