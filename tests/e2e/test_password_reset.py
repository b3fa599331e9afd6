"""*Mot de passe oublié*: a single-use, short-lived link sent by e-mail sets
a new password, unlocks the account and ends its sessions. The request page
shows the same text whether an account matches or not."""

import re
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from services.identity import passwords
from services.identity.forms import MESSAGES
from tests.e2e.pages import csrf_token, error_messages, log_in, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "le train de midi part en retard"
NEW_PASSWORD = "une tasse de thé sous la pluie"
RESET_LINK = re.compile(r"https?://\S+(/mot-de-passe-oublie/[A-Za-z0-9_-]+)")
SENT = "Si un compte ÉduConnect activé correspond à ce que vous avez saisi"


@pytest.fixture(autouse=True)
async def forget_address_failures(sample_system):
    """Delete the failed logins and reset requests that the test counted
    against the loopback address, which every test of the session shares, so
    that later tests are not held back by this one's."""
    started_at = datetime.now(UTC)
    yield
    await execute(
        sample_system,
        "DELETE FROM identity.login_failures"
        " WHERE throttle_key IN ('adresse:127.0.0.1',"
        " 'reinitialisation-adresse:127.0.0.1') AND failed_at >= $1",
        started_at,
    )


async def make_account(
    sample_system,
    *,
    email: str | None,
    password: str = PASSWORD,
    activated: bool = True,
) -> dict:
    """Insert an account holding no responsable record, so that no other
    test's sample account is touched, and return its identifiant and id."""
    account_id = uuid.uuid4()
    identifiant = f"t.essai{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        await connection.execute(
            "INSERT INTO identity.accounts (account_id, identifiant, academie,"
            " civilite, nom, prenom, email, password_hash, activated_at)"
            " VALUES ($1, $2, 'versailles', 'MME', 'ESSAI', 'Camille', $3, $4, $5)",
            account_id,
            identifiant,
            email,
            passwords.hash_password(password) if activated else None,
            datetime.now(UTC) if activated else None,
        )
    finally:
        await connection.close()
    return {"account_id": account_id, "identifiant": identifiant, "email": email}


async def account_row(sample_system, account_id: uuid.UUID) -> asyncpg.Record:
    """Return the account's row as stored."""
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        return await connection.fetchrow(
            "SELECT * FROM identity.accounts WHERE account_id = $1", account_id
        )
    finally:
        await connection.close()


async def execute(sample_system, query: str, *arguments) -> None:
    """Run one statement on the stack's database."""
    connection = await asyncpg.connect(sample_system.stack.database_url)
    try:
        await connection.execute(query, *arguments)
    finally:
        await connection.close()


def unique_email(name: str = "camille.essai") -> str:
    return f"{name}.{uuid.uuid4().hex[:8]}@example.org"


def ask_reset(client, login: str):
    """Send the *Mot de passe oublié* form with ``login``."""
    form = client.get("/mot-de-passe-oublie")
    return client.post(
        "/mot-de-passe-oublie",
        data={"login": login, "csrf_token": csrf_token(form)},
    )


def reset_links(sample_system, email: str, count: int = 1) -> list[str]:
    """Wait for ``count`` reset mails to ``email`` and return the path of the
    link of each, oldest first."""
    sample_system.mail.wait_for(
        lambda _: (
            len([m for m in sample_system.mail.messages() if m.is_to(email)]) >= count
        ),
        timeout=60,
    )
    paths = []
    for mail in sample_system.mail.messages():
        if mail.is_to(email) and "nouveau mot de passe" in mail.subject:
            paths.append(RESET_LINK.search(mail.text_body()).group(1))
    return paths


def set_new_password(client, path: str, password: str, confirmation=None):
    """Send the new password form of the reset link ``path``, with the CSRF
    token of the session, which a page without a form (an invalid link)
    does not show."""
    return client.post(
        path,
        data={
            "password": password,
            "password_confirmation": password if confirmation is None else confirmation,
            "csrf_token": csrf_token(client.get("/mot-de-passe-oublie")),
        },
    )


async def test_reset_link_sets_password_and_unlocks(sample_system, new_client):
    email = unique_email()
    account = await make_account(sample_system, email=email)
    client = new_client()
    for _ in range(5):
        log_in(client, account["identifiant"], "pas le bon mot de passe")
    assert log_in(client, account["identifiant"], PASSWORD).status_code == 429
    assert (await account_row(sample_system, account["account_id"]))["locked_until"]

    asked = ask_reset(client, account["identifiant"])
    assert asked.status_code == 200
    assert SENT in text_of(asked)
    [path] = reset_links(sample_system, email)
    mail = next(m for m in sample_system.mail.messages() if m.is_to(email))
    assert mail.subject == "[EduConnect] Choisir un nouveau mot de passe"
    assert sample_system.identity_url + path in mail.text_body()

    form = client.get(path)
    assert form.status_code == 200
    assert "Choisir un nouveau mot de passe" in text_of(form)
    weak = set_new_password(client, path, "azertyuiop12")
    assert weak.status_code == 422
    assert "azertyuiop12" not in weak.text
    assert error_messages(weak)[0].startswith(MESSAGES["password_weak"])
    mismatch = set_new_password(client, path, NEW_PASSWORD, "autre chose encore")
    assert MESSAGES["password_mismatch"] in error_messages(mismatch)
    done = set_new_password(client, path, NEW_PASSWORD)
    assert done.url.path == "/mot-de-passe-modifie"
    assert "Votre mot de passe a été modifié" in text_of(done)

    row = await account_row(sample_system, account["account_id"])
    assert row["locked_until"] is None
    assert log_in(new_client(), account["identifiant"], PASSWORD).status_code == 401
    assert log_in(new_client(), account["identifiant"], NEW_PASSWORD).url.path == (
        "/portail"
    )


async def test_reset_link_works_once(sample_system, new_client):
    email = unique_email()
    account = await make_account(sample_system, email=email)
    client = new_client()
    ask_reset(client, account["identifiant"])
    [path] = reset_links(sample_system, email)

    assert set_new_password(client, path, NEW_PASSWORD).status_code == 200
    used = client.get(path)
    assert used.status_code == 404
    assert "Ce lien n'est plus valable" in text_of(used)
    replayed = set_new_password(client, path, "encore un autre mot de passe")
    assert replayed.status_code == 404
    assert log_in(new_client(), account["identifiant"], NEW_PASSWORD).status_code == 200


async def test_new_link_voids_earlier_one(sample_system, new_client):
    email = unique_email("Marie.Dupont")
    account = await make_account(sample_system, email=email.lower())
    client = new_client()

    ask_reset(client, account["identifiant"])
    ask_reset(client, email.upper())
    first, second = reset_links(sample_system, email.lower(), count=2)

    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    assert set_new_password(client, second, NEW_PASSWORD).status_code == 200


async def test_expired_link_is_refused(sample_system, new_client):
    email = unique_email()
    account = await make_account(sample_system, email=email)
    client = new_client()
    ask_reset(client, email)
    [path] = reset_links(sample_system, email)

    await execute(
        sample_system,
        "UPDATE identity.password_resets SET expires_at = now() WHERE account_id = $1",
        account["account_id"],
    )

    assert client.get(path).status_code == 404
    assert set_new_password(client, path, NEW_PASSWORD).status_code == 404


async def test_answer_same_for_unknown_login(sample_system, new_client):
    known_email = unique_email()
    known = await make_account(sample_system, email=known_email)
    not_activated = await make_account(sample_system, email=None, activated=False)
    disabled_email = unique_email()
    disabled = await make_account(sample_system, email=disabled_email)
    await execute(
        sample_system,
        "UPDATE identity.accounts SET disabled_at = now() WHERE account_id = $1",
        disabled["account_id"],
    )

    answers = [
        ask_reset(new_client(), login)
        for login in (
            known["identifiant"],
            "personne.inexistante",
            unique_email("inconnu"),
            not_activated["identifiant"],
            disabled["identifiant"],
        )
    ]

    texts = [re.sub(r'value="[^"]*"', "", answer.text) for answer in answers]
    assert [answer.status_code for answer in answers] == [200] * 5
    assert all(text == texts[0] for text in texts)
    reset_links(sample_system, known_email)
    assert not [m for m in sample_system.mail.messages() if m.is_to(disabled_email)]


async def test_empty_login_gets_message_next_to_field(sample_system, new_client):
    answer = ask_reset(new_client(), "   ")

    assert answer.status_code == 422
    assert error_messages(answer) == [MESSAGES["login_missing"]]


async def test_reset_ends_every_session(sample_system, new_client):
    email = unique_email()
    account = await make_account(sample_system, email=email)
    logged_in = new_client()
    assert log_in(logged_in, account["identifiant"], PASSWORD).url.path == "/portail"

    other = new_client()
    ask_reset(other, email)
    [path] = reset_links(sample_system, email)
    set_new_password(other, path, NEW_PASSWORD)

    assert logged_in.get("/mon-compte").url.path == "/connexion"


async def test_disabled_account_link_is_refused(sample_system, new_client):
    email = unique_email()
    account = await make_account(sample_system, email=email)
    client = new_client()
    ask_reset(client, email)
    [path] = reset_links(sample_system, email)

    await execute(
        sample_system,
        "UPDATE identity.accounts SET disabled_at = now() WHERE account_id = $1",
        account["account_id"],
    )

    assert client.get(path).status_code == 404


async def test_requests_are_throttled_per_login(sample_system, new_client):
    for login in (f"t.essai{uuid.uuid4().hex[:10]}", unique_email("inconnu")):
        for _ in range(3):
            assert ask_reset(new_client(), login).status_code == 200
        held_back = ask_reset(new_client(), login)

        assert held_back.status_code == 429
        assert "Trop de demandes de nouveau mot de passe" in text_of(held_back)
        assert "réessayez dans 5 minutes" in text_of(held_back)
