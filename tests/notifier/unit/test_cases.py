"""Correction cases with in-memory fakes: opening by a refusal, closing by a
withdrawal or a correction, and the reminders, escalations and digests of
the scheduler under a clock that the tests set."""

import uuid
from datetime import UTC, date, datetime

import pytest

from services.notifier.directory import load_directory
from services.notifier.handlers import Outcome, handle_link_event
from services.notifier.scheduler import CaseScheduler

from ..factories import make_refusal, make_removal, make_withdrawal
from .fakes import FakeCaseBook, FakeMailQueue

# make_refusal() refuses on 15/01/2020, so the deadline is 14/02/2020.
DEADLINE = date(2020, 2, 14)
SIECLE_TEAM = "diffusion-siecle@ac-versailles.example"
EDUCONNECT_TEAM = "diffusion-educonnect@ac-versailles.example"
ASSISTANCE_TEAM = "assistance@ac-versailles.example"


@pytest.fixture
def queue():
    return FakeMailQueue()


@pytest.fixture
def cases(queue):
    return FakeCaseBook(queue)


async def handle(event, queue, cases, event_id=None):
    return await handle_link_event(
        event,
        event_id or uuid.uuid4(),
        queue=queue,
        cases=cases,
        directory=load_directory(),
        correction_days=30,
    )


def scheduler(cases, **options):
    return CaseScheduler(cases, load_directory(), reminder_days=5, **options)


def paris(year, month, day, hour=12):
    """Return noon (or ``hour``) of that day in Paris, in winter time."""
    return datetime(year, month, day, hour - 1, tzinfo=UTC)


def mails_of(queue, kind):
    return [row.mail for row in queue.rows if row.mail.kind == kind]


async def test_refusal_opens_case(queue, cases):
    event_id = uuid.uuid4()
    refusal = make_refusal()

    await handle(refusal, queue, cases, event_id)

    [case] = await cases.open_cases()
    assert case.refusal == refusal
    assert case.opened_by == event_id
    assert case.deadline == DEADLINE


async def test_redelivered_refusal_opens_one_case(queue, cases):
    refusal = make_refusal()
    event_id = uuid.uuid4()

    await handle(refusal, queue, cases, event_id)
    await handle(refusal, queue, cases, event_id)

    assert len(await cases.open_cases()) == 1
    assert len(queue.rows) == 1


async def test_withdrawal_closes_case_with_notice(queue, cases):
    refusal = make_refusal()
    await handle(refusal, queue, cases)
    event_id = uuid.uuid4()

    outcome = await handle(make_withdrawal(refusal), queue, cases, event_id)

    assert outcome is Outcome.CLOSED
    assert await cases.open_cases() == []
    [notice] = mails_of(queue, "closure")
    assert notice.message_id == f"<{event_id}.closure@educonnect.example>"
    assert notice.to == (SIECLE_TEAM,)
    assert notice.cc == (EDUCONNECT_TEAM,)
    assert "Dossier clos" in notice.subject
    assert "a finalement confirmé" in notice.text
    assert "depuis Mon compte, le 20/01/2020" in notice.text
    assert "Zoé" not in notice.text


async def test_correction_closes_case_with_notice(queue, cases):
    refusal = make_refusal()
    await handle(refusal, queue, cases)

    outcome = await handle(make_removal(refusal), queue, cases)

    assert outcome is Outcome.CLOSED
    assert await cases.open_cases() == []
    [notice] = mails_of(queue, "closure")
    assert "ne figure plus dans SIECLE" in notice.text
    assert "correction constatée le 27/01/2020" in notice.text


async def test_removal_of_confirmed_link_keeps_case(queue, cases):
    refusal = make_refusal()
    await handle(refusal, queue, cases)

    outcome = await handle(
        make_removal(refusal, previous_state="confirmed"), queue, cases
    )

    assert outcome is Outcome.IGNORED
    assert len(await cases.open_cases()) == 1


async def test_withdrawal_without_case_sends_nothing(queue, cases):
    outcome = await handle(make_withdrawal(make_refusal()), queue, cases)

    assert outcome is Outcome.NO_OPEN_CASE
    assert queue.rows == []


async def test_redelivered_withdrawal_is_duplicate(queue, cases):
    refusal = make_refusal()
    await handle(refusal, queue, cases)
    withdrawal = make_withdrawal(refusal)
    event_id = uuid.uuid4()

    await handle(withdrawal, queue, cases, event_id)
    outcome = await handle(withdrawal, queue, cases, event_id)

    assert outcome is Outcome.DUPLICATE
    assert len(mails_of(queue, "closure")) == 1


async def test_no_reminder_before_reminder_days(queue, cases):
    await handle(make_refusal(), queue, cases)

    report = await scheduler(cases).run_once(paris(2020, 2, 8))

    assert report.reminders == 0
    assert mails_of(queue, "reminder") == []


async def test_reminder_then_escalation(queue, cases):
    event_id = uuid.uuid4()
    await handle(make_refusal(), queue, cases, event_id)
    schedule = scheduler(cases)

    on_reminder_day = await schedule.run_once(paris(2020, 2, 9))
    next_day = await schedule.run_once(paris(2020, 2, 10))
    day_before_deadline = await schedule.run_once(paris(2020, 2, 13, hour=23))
    on_deadline = await schedule.run_once(paris(2020, 2, 14, hour=1))
    after_deadline = await schedule.run_once(paris(2020, 2, 20))

    assert (on_reminder_day.reminders, on_reminder_day.escalations) == (1, 0)
    assert (next_day.reminders, next_day.escalations) == (0, 0)
    assert (day_before_deadline.reminders, day_before_deadline.escalations) == (0, 0)
    assert (on_deadline.reminders, on_deadline.escalations) == (0, 1)
    assert (after_deadline.reminders, after_deadline.escalations) == (0, 0)

    [reminder] = mails_of(queue, "reminder")
    assert reminder.message_id == f"<{event_id}.reminder@educonnect.example>"
    assert reminder.to == (SIECLE_TEAM,)
    assert reminder.cc == (EDUCONNECT_TEAM,)
    assert "Il reste 5 jour(s)" in reminder.text
    assert "à corriger avant le 14/02/2020" in reminder.text
    assert "INE : 9900000001K" in reminder.text

    [escalation] = mails_of(queue, "escalation")
    assert escalation.message_id == f"<{event_id}.escalation@educonnect.example>"
    assert escalation.to == (ASSISTANCE_TEAM,)
    assert escalation.cc == (SIECLE_TEAM, EDUCONNECT_TEAM)
    assert "Délai dépassé" in escalation.subject
    assert "<td>9900000001K</td>" in escalation.html


async def test_late_scheduler_escalates_without_reminder(queue, cases):
    await handle(make_refusal(), queue, cases)

    report = await scheduler(cases).run_once(paris(2020, 3, 1))

    assert (report.reminders, report.escalations) == (0, 1)


async def test_closure_after_escalation_copies_assistance(queue, cases):
    refusal = make_refusal()
    await handle(refusal, queue, cases)
    await scheduler(cases).run_once(paris(2020, 2, 15))

    await handle(make_withdrawal(refusal), queue, cases)

    [notice] = mails_of(queue, "closure")
    assert notice.cc == (EDUCONNECT_TEAM, ASSISTANCE_TEAM)


async def test_closed_case_gets_no_reminder(queue, cases):
    refusal = make_refusal()
    await handle(refusal, queue, cases)
    await handle(make_removal(refusal), queue, cases)

    report = await scheduler(cases).run_once(paris(2020, 2, 20))

    assert report.total == 0


async def test_digest_lists_open_cases_once_a_day(queue, cases):
    await handle(make_refusal(ine="9900000011A"), queue, cases)
    await handle(make_refusal(ine="9900000022B", source="onde"), queue, cases)
    await handle(make_refusal(academie="lyon"), queue, cases)
    schedule = scheduler(cases, digest_hour=7)

    before_hour = await schedule.run_once(paris(2020, 1, 16, hour=6))
    first = await schedule.run_once(paris(2020, 1, 16, hour=8))
    again = await schedule.run_once(paris(2020, 1, 16, hour=18))
    next_day = await schedule.run_once(paris(2020, 1, 17, hour=8))

    assert before_hour.digests == 0
    assert first.digests == 2
    assert again.digests == 0
    assert next_day.digests == 2
    versailles = [m for m in mails_of(queue, "digest") if m.academie == "versailles"]
    digest = versailles[0]
    assert digest.to == (EDUCONNECT_TEAM,)
    assert digest.cc == ()
    expected = "2 rattachement(s) refusé(s) en attente de correction le 16/01/2020"
    assert f"Versailles : {expected}" in digest.subject
    assert "élève 9900000011A" in digest.text
    assert "élève 9900000022B" in digest.text
    assert "à corriger avant le 14/02/2020 (en cours)" in digest.text
    assert "<td>9900000022B</td>" in digest.html


async def test_scheduler_wakes_sender_when_mail_queued(queue, cases):
    wakeups = []
    await handle(make_refusal(), queue, cases)

    await scheduler(cases, on_mail_queued=lambda: wakeups.append(1)).run_once(
        paris(2020, 2, 9, hour=6)
    )

    assert wakeups == [1]


async def test_unknown_academie_reminder_is_parked(queue, cases):
    await handle(make_refusal(academie="atlantide"), queue, cases)

    await scheduler(cases).run_once(paris(2020, 2, 9, hour=6))

    [row] = [row for row in queue.rows if row.mail.kind == "reminder"]
    assert row.status == "parked"
    assert row.parked_reason == "unknown académie 'atlantide'"
