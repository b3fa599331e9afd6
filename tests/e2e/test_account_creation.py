"""Creating an account without a notice, through the HTTP forms: the matching
on name and mobile phone, the one-time code sent by SMS through the mail
catcher, its limits, and the way to an account that already exists."""

import re

import asyncpg
import pytest

from tests.e2e.pages import activate, children_on_form, csrf_token, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GATEWAY = "sms.educonnect.example"
_CODE = re.compile(r"EduConnect : ([0-9]{6}) est votre code")


def request_code(client, nom: str, prenom: str, mobile: str):
    """Fill in *Créer mon compte sans notice* and return the page it leads to."""
    form = client.get("/creer-un-compte")
    return client.post(
        "/creer-un-compte",
        data={
            "nom": nom,
            "prenom": prenom,
            "mobile": mobile,
            "csrf_token": csrf_token(form),
        },
    )


def type_code(client, page, code: str):
    """Send ``code`` on the code page ``page``; return the page it leads to."""
    return client.post(
        "/creer-un-compte/code", data={"code": code, "csrf_token": csrf_token(page)}
    )


def sms_code(system, digits: str, already_seen: int = 0) -> str:
    """Return the code of the next SMS to ``digits`` after ``already_seen``."""

    def sent(mail) -> bool:
        return (
            mail.is_to(f"{digits}@{GATEWAY}")
            and len(sms_to(system, digits)) > already_seen
        )

    system.mail.wait_for(sent, timeout=60)
    text = sms_to(system, digits)[already_seen].text_body()
    match = _CODE.search(text)
    assert match, text
    return match.group(1)


def sms_to(system, digits: str) -> list:
    return [
        mail for mail in system.mail.messages() if mail.is_to(f"{digits}@{GATEWAY}")
    ]


async def fetch(system, query: str, *args):
    connection = await asyncpg.connect(system.stack.database_url)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


async def test_homonym_with_other_mobile_is_not_proposed(creation_system, new_client):
    client = new_client()

    sent = request_code(client, "Dubois", "MARTIN", "+33 6 39 98 10 02")
    assert sent.url.path == "/creer-un-compte/code", text_of(sent)
    created = type_code(client, sent, sms_code(creation_system, "0639981002"))
    assert created.url.path == "/creer-un-compte/compte-cree", text_of(created)
    identifiant = re.search(r'class="identifiant">([^<]+)<', created.text).group(1)
    activation = client.get("/activation")

    assert identifiant.startswith("m.dubois")
    assert sorted(children_on_form(activation)) == ["Tom"]
    [account] = await fetch(
        creation_system,
        "SELECT creation_mobile, activated_at,"
        " ARRAY(SELECT responsable_id FROM identity.account_responsables held"
        "       WHERE held.account_id = accounts.account_id) AS records"
        " FROM identity.accounts WHERE identifiant = $1",
        identifiant,
    )
    assert account["creation_mobile"] == "0639981002"
    assert account["activated_at"] is None
    assert len(account["records"]) == 1
    assert account["records"][0].startswith("onde:0999301K:")


async def test_unknown_person_gets_same_page(creation_system, new_client):
    known = request_code(new_client(), "LEROY", "Claire", "06 39 98 10 03")
    unknown = request_code(new_client(), "INCONNU", "Personne", "06 39 98 19 03")

    assert unknown.status_code == known.status_code == 200
    assert unknown.url.path == known.url.path == "/creer-un-compte/code"
    assert text_of(unknown) == text_of(known)
    [row] = await fetch(
        creation_system,
        "SELECT responsable_ids FROM identity.creation_codes WHERE mobile = $1",
        "0639981903",
    )
    assert row["responsable_ids"] == []


async def test_code_is_void_after_five_wrong_tries(creation_system, new_client):
    client = new_client()
    page = request_code(client, "INCONNU", "Essais", "07 39 98 19 98")

    messages = []
    for _ in range(5):
        page = type_code(client, page, "000000")
        messages.append(text_of(page))

    assert "Il vous reste 4 essais." in messages[0]
    assert "Il vous reste 1 essai." in messages[3]
    assert "Ce code n'est plus valable" in messages[4]
    assert page.status_code == 422


async def test_right_code_after_expiry_creates_nothing(creation_system, new_client):
    client = new_client()
    seen = len(sms_to(creation_system, "0639981002"))
    sent = request_code(client, "Dubois", "Martin", "06 39 98 10 02")
    code = sms_code(creation_system, "0639981002", seen)
    await fetch(
        creation_system,
        "UPDATE identity.creation_codes SET expires_at = now()"
        " WHERE mobile = '0639981002' AND used_at IS NULL",
    )

    answer = type_code(client, sent, code)

    assert answer.status_code == 422
    assert "Ce code n'est plus valable" in text_of(answer)


async def test_code_requests_are_throttled_per_number(creation_system, new_client):
    pages = [
        request_code(new_client(), "INCONNU", "Rafale", "06 39 98 19 97")
        for _ in range(4)
    ]

    assert [page.status_code for page in pages] == [200, 200, 200, 429]
    assert "Trop de codes ont été demandés" in text_of(pages[3])


async def test_form_errors_are_shown_next_to_fields(creation_system, new_client):
    page = request_code(new_client(), "", "Léa", "01 23 45 67 89")

    assert page.status_code == 422
    assert "Saisissez votre nom de famille." in text_of(page)
    assert "commençant par 06 ou 07" in text_of(page)
    assert 'value="Léa"' in page.text
    assert 'value="01 23 45 67 89"' in page.text


async def test_activated_account_leads_to_recovery(creation_system, new_client):
    [record] = await fetch(
        creation_system,
        "SELECT responsable_id FROM identity.accounts"
        " WHERE nom = 'MOREAU' AND prenom = 'Paul'",
    )
    identifiant, provisional = creation_system.notice(record["responsable_id"])
    activate(
        new_client(),
        identifiant,
        provisional,
        email="paul.moreau@example.org",
        password="un cahier rouge sous la pluie",
        birth_dates={"Nina": "08/07/2016"},
    )
    client = new_client()
    seen = len(sms_to(creation_system, "0639981004"))

    sent = request_code(client, "MOREAU", "Paul", "0639981004")
    answer = type_code(client, sent, sms_code(creation_system, "0639981004", seen))

    assert "Vous avez déjà un compte ÉduConnect" in text_of(answer)
    assert 'href="/mot-de-passe-oublie"' in answer.text
    assert client.get("/activation").url.path == "/connexion"
    holders = await fetch(
        creation_system,
        "SELECT account_id FROM identity.account_responsables"
        " WHERE responsable_id = $1",
        record["responsable_id"],
    )
    assert len(holders) == 1


async def test_disabled_account_keeps_its_records(creation_system, new_client):
    [record] = await fetch(
        creation_system,
        "UPDATE identity.accounts SET disabled_at = now()"
        " WHERE nom = 'GIRARD' AND prenom = 'Léna' RETURNING responsable_id",
    )
    client = new_client()

    sent = request_code(client, "Girard", "Léna", "0639981007")
    answer = type_code(client, sent, sms_code(creation_system, "0639981007"))

    # School staff disabled the account: a new one must not undo that.
    assert "Vous avez déjà un compte ÉduConnect" in text_of(answer)
    holders = await fetch(
        creation_system,
        "SELECT accounts.disabled_at FROM identity.account_responsables held"
        " JOIN identity.accounts USING (account_id) WHERE held.responsable_id = $1",
        record["responsable_id"],
    )
    assert len(holders) == 1
    assert holders[0]["disabled_at"] is not None


async def test_refusal_across_records_in_mon_compte(creation_system, new_client):
    client = new_client()
    seen = len(sms_to(creation_system, "0739981005"))
    sent = request_code(client, "PETIT", "Inès", "07 39 98 10 05")
    created = type_code(client, sent, sms_code(creation_system, "0739981005", seen))
    assert created.url.path == "/creer-un-compte/compte-cree", text_of(created)
    form = client.get("/activation")
    children = children_on_form(form)
    assert sorted(children) == ["Noah", "Rose"]
    fields = {
        "csrf_token": csrf_token(form),
        "email": "ines.petit@example.org",
        "email_confirmation": "ines.petit@example.org",
        "password": "une girafe lit le journal",
        "password_confirmation": "une girafe lit le journal",
        f"naissance-{children['Noah']}": "17/03/2017",
        f"naissance-{children['Rose']}": "09/10/2013",
    }
    portal = client.post("/activation", data=fields)
    assert portal.url.path == "/portail", text_of(portal)

    account = client.get("/mon-compte")
    asked = client.post(
        "/mon-compte/enfants/refus",
        data={"csrf_token": csrf_token(account), "link_id": children["Rose"]},
    )
    done = client.post(
        asked.url.path, data={"csrf_token": csrf_token(asked), "action": "valider"}
    )

    assert "Le rattachement de Rose PETIT à votre compte est retiré." in text_of(done)
