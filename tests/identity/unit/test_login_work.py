"""The work a login does whatever the identifiant: one argon2 verification,
so its duration reveals nothing about the account."""

import contextlib
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from services.identity import passwords, sessions, throttle, web

NOTICE_SECRET = "secret-des-notices-de-test"
# The only setting a credentials check reads.
SETTINGS = SimpleNamespace(notice_secret=NOTICE_SECRET)
PASSWORD = "le train de midi part en retard"


class OneAccountConnection:
    """Fake asyncpg connection whose accounts table contains one row."""

    def __init__(self, account: dict | None):
        self.account = account

    async def fetchrow(self, query: str, identifiant: str):
        if self.account and identifiant == self.account["identifiant"]:
            return self.account
        return None


def make_account(activated: bool) -> dict:
    return {
        "account_id": uuid.uuid4(),
        "identifiant": "a.dupont1",
        "activated_at": datetime.now(UTC) if activated else None,
        "password_hash": passwords.hash_password(PASSWORD) if activated else None,
        "notice_version": 0,
        "locked_until": None,
    }


class CountingHasher:
    """Wraps the argon2 hasher and keeps the hash of each verification."""

    def __init__(self, hasher):
        self.hasher = hasher
        self.verified: list[str] = []

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return self.hasher.verify(password_hash, password)

    def __getattr__(self, name: str):
        return getattr(self.hasher, name)


@pytest.fixture
def argon2_verifications(monkeypatch) -> list[str]:
    """Count the argon2 verifications a login does."""
    counting = CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    return counting.verified


@pytest.mark.parametrize("account", ["unknown", "provisional", "activated"])
async def test_wrong_password_costs_one_argon2_verification(
    account, argon2_verifications
):
    row = None if account == "unknown" else make_account(account == "activated")

    found = await web._check_credentials(
        OneAccountConnection(row), SETTINGS, "a.dupont1", "pas le bon mot de passe"
    )

    assert found is None
    assert len(argon2_verifications) == 1


async def test_provisional_password_still_opens_the_account(argon2_verifications):
    row = make_account(activated=False)
    provisional = passwords.provisional_password(NOTICE_SECRET, row["account_id"])

    found = await web._check_credentials(
        OneAccountConnection(row), SETTINGS, "a.dupont1", provisional
    )

    assert found is row
    assert len(argon2_verifications) == 1


class RecordingConnection:
    """Fake asyncpg connection with no account and no failure stored, which
    records every statement it runs."""

    def __init__(self):
        self.executed: list[tuple] = []

    async def execute(self, query: str, *args) -> str:
        self.executed.append((query, *args))
        return "OK"

    async def executemany(self, query: str, args: list[tuple]) -> None:
        self.executed.append((query, *args))

    async def fetch(self, query: str, *args) -> list:
        return []

    async def fetchrow(self, query: str, *args) -> None:
        return None

    @contextlib.asynccontextmanager
    async def transaction(self):
        yield


class OneConnectionPool:
    def __init__(self, connection: RecordingConnection):
        self.connection = connection

    @contextlib.asynccontextmanager
    async def acquire(self):
        yield self.connection


async def test_failed_login_locks_identifiant_and_address(monkeypatch):
    monkeypatch.setattr(web, "_render", lambda request, *args, **kwargs: None)
    connection = RecordingConnection()
    session = sessions.Session(token="jeton", csrf_token="jeton-csrf")
    request = SimpleNamespace(client=SimpleNamespace(host="203.0.113.7"))

    await web.login(
        request,
        OneConnectionPool(connection),
        SETTINGS,
        session,
        identifiant="a.dupont1",
        password="pas le bon mot de passe",
        csrf_token="jeton-csrf",
    )

    locked = [
        arguments[0]
        for query, *arguments in connection.executed
        if "pg_advisory_xact_lock" in query
    ]
    assert locked == sorted(
        [throttle.identifiant_key("a.dupont1"), throttle.address_key("203.0.113.7")]
    )
