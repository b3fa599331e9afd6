"""Fixtures shared by every test folder: the local stack (PostgreSQL, Kafka, a
mail catcher) started once per session, a fresh database per test, and the
whole system running on the sample académie for end-to-end tests."""

import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from shared.devstack.mailcatcher import MailCatcher
from shared.devstack.stack import LocalStack

pytest_plugins = ["shared.devstack.pytest_plugin"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLES = REPO_ROOT.parent / "shared" / "samples"
SAMPLE_ACADEMIE = "versailles"


@pytest.fixture
async def fresh_database_url(local_stack: LocalStack) -> str:
    """Return the URL of a new, empty database of the session's cluster."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(local_stack.database_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return local_stack.database_url.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class SampleSystem:
    """The four services running on the week-1 sample exports."""

    stack: LocalStack
    identity_url: str
    links_url: str
    mail: MailCatcher
    import_output: str

    def notice(self, responsable_id: str) -> tuple[str, str]:
        """Return the identifiant and provisional password of a responsable."""
        output = self.stack.run_command(
            "identity", "notices", "--responsable", responsable_id, log_name="notices"
        )
        identifiant, password, *_ = output.split()
        return identifiant, password

    async def link_states(self, responsable_id: str) -> dict[str, str]:
        """Return the state of each of a responsable's links, by pupil id."""
        connection = await asyncpg.connect(self.stack.database_url)
        try:
            rows = await connection.fetch(
                "SELECT eleve_id, state::text FROM links.links"
                " WHERE responsable_id = $1",
                responsable_id,
            )
        finally:
            await connection.close()
        return {row["eleve_id"]: row["state"] for row in rows}

    async def account(self, responsable_id: str) -> asyncpg.Record | None:
        """Return a responsable's account row."""
        connection = await asyncpg.connect(self.stack.database_url)
        try:
            return await connection.fetchrow(
                "SELECT * FROM identity.accounts WHERE responsable_id = $1",
                responsable_id,
            )
        finally:
            await connection.close()


@pytest.fixture(scope="session")
def sample_system(
    local_stack: LocalStack, running_services: dict[str, str]
) -> SampleSystem:
    """Start the services and import the week-1 SIECLE and ONDE samples."""
    output = local_stack.run_importer(
        SAMPLE_ACADEMIE, [SAMPLES / "siecle" / "week1", SAMPLES / "onde" / "week1"]
    )
    return SampleSystem(
        stack=local_stack,
        identity_url=running_services["identity"],
        links_url=running_services["links"],
        mail=local_stack.mail,
        import_output=output,
    )
