"""Command line of ``python -m services.notifier``: parsing only; the commands
themselves run against PostgreSQL in the integration tests."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.notifier.__main__ import _parser


def parse(*argv):
    return _parser().parse_args(list(argv))


def test_no_command_serves():
    assert parse().command is None


def test_tick_now_with_offset():
    arguments = parse("tick", "--now", "2020-02-14T08:00:00+01:00")

    assert arguments.now == datetime(
        2020, 2, 14, 8, tzinfo=timezone(timedelta(hours=1))
    )


def test_tick_now_without_offset_is_utc():
    assert parse("tick", "--now", "2020-02-14T08:00").now == datetime(
        2020, 2, 14, 8, tzinfo=UTC
    )


def test_tick_rejects_invalid_time(capsys):
    with pytest.raises(SystemExit):
        parse("tick", "--now", "yesterday")

    assert "invalid time 'yesterday': expected ISO 8601" in capsys.readouterr().err


def test_resend_ids():
    arguments = parse("parked", "resend", "3", "4")

    assert arguments.mail_ids == [3, 4]
    assert arguments.all is False


@pytest.mark.parametrize(
    "argv",
    [("parked", "resend"), ("parked", "resend", "3", "--all"), ("dead-letters",)],
)
def test_rejects_incomplete_commands(argv):
    with pytest.raises(SystemExit):
        parse(*argv)


def test_replay_all():
    arguments = parse("dead-letters", "replay", "--all")

    assert arguments.all is True
    assert arguments.letter_ids == []
