"""Pytest fixtures that run the local stack once per test session.

Enable them in the root conftest.py with
`pytest_plugins = ["shared.devstack.pytest_plugin"]`. The fixtures are synchronous,
because they manage processes; async tests use them like any other fixture.
"""

from collections.abc import Iterator

import pytest

from shared.devstack.mailcatcher import MailCatcher
from shared.devstack.stack import LocalStack

DAEMONS = ("links", "notifier", "identity")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """PostgreSQL, Kafka and the mail catcher (with its web page) for the session.

    Services are not started; call `local_stack.start_service(name)` or use
    `running_services`. Everything is stopped when the session ends.
    """
    stack = LocalStack(
        tmp_path_factory.mktemp("local-stack"), environment="test", mail_http=True
    )
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def running_services(local_stack: LocalStack) -> dict[str, str]:
    """Start links, notifier and identity once; return each one's base URL by name."""
    local_stack.start_services(*DAEMONS)
    return {name: local_stack.service_url(name) for name in DAEMONS}


@pytest.fixture
def mail_catcher(local_stack: LocalStack) -> MailCatcher:
    """Return the session's mail catcher.

    Mails are kept across tests, so a test should wait for mails by recipient
    (`mail_catcher.wait_for(lambda mail: mail.is_to(address))`) with addresses of
    its own rather than count all mails.
    """
    return local_stack.mail
