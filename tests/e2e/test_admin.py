"""*Administration des comptes* over HTTP. Staff accounts come from the
command line. The class pages show account and link statuses, the actions on
accounts are audited, an IEN sees statistics, and every page and action stays
within the staff member's school or circonscription."""

import json
import re

import asyncpg
import httpx
import pytest

from tests.conftest import SAMPLES
from tests.e2e.pages import activate, csrf_token, log_in, text_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCHOOL = "0999101E"
OTHER_SCHOOL = "0999102F"
PASSWORD = "la cour de récréation est pleine"
# Class 6B of collège 0999101E: Bastien CLÉMENT's responsables (7100035,
# 7100036) and Louis CHEVALIER's (7100039, 7100040), whom no other test uses.
CLASSE = "6B"
CLEMENT_MOTHER = "siecle:7100035"
CLEMENT_FATHER = "siecle:7100036"
CHEVALIER_MOTHER = "siecle:7100039"
# Activated by the IEN test, so that the activation rate counts one account.
CHEVALIER_FATHER = "siecle:7100040"
# The own pupil account of Sébastien GAUTHIER (class 6B), which no other test uses.
SEBASTIEN_GAUTHIER = "9900000020Z"
# Sébastien ROBIN's responsable, in collège 0999102F only.
OTHER_SCHOOL_RESPONSABLE = "siecle:7100057"


def staff_client(sample_system, new_client, role: str, scope: str) -> httpx.Client:
    """Create a staff account, activate it and return its logged-in client."""
    identifiant, provisional = sample_system.staff_account(role, scope)
    client = new_client()
    form = log_in(client, identifiant, provisional)
    assert form.url.path == "/administration/activation", text_of(form)
    done = client.post(
        "/administration/activation",
        data={
            "csrf_token": csrf_token(form),
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )
    assert done.status_code == 200, text_of(done)
    return client


async def database(sample_system) -> asyncpg.Connection:
    return await asyncpg.connect(sample_system.stack.database_url)


async def account_id(sample_system, responsable_id: str):
    return (await sample_system.account(responsable_id))["account_id"]


async def audit_rows(sample_system, target) -> list[str]:
    connection = await database(sample_system)
    try:
        rows = await connection.fetch(
            "SELECT action FROM identity.staff_audit WHERE target_account_id = $1"
            " ORDER BY id",
            target,
        )
    finally:
        await connection.close()
    return [row["action"] for row in rows]


def birth_dates_of_class(uai: str, classe: str) -> list[str]:
    truth = json.loads(
        (SAMPLES / "expected" / "week1_truth.json").read_text(encoding="utf-8")
    )
    return [
        pupil["birth"]
        for pupil in truth["pupils"]
        if pupil["uai"] == uai and pupil["division_or_class"] == classe
    ]


async def test_staff_activation_checks_password(sample_system, new_client):
    identifiant, provisional = sample_system.staff_account("directeur", SCHOOL)
    client = new_client()

    form = log_in(client, identifiant, provisional)
    weak = client.post(
        "/administration/activation",
        data={
            "csrf_token": csrf_token(form),
            "password": "azerty",
            "password_confirmation": "azerty",
        },
    )
    home = client.post(
        "/administration/activation",
        data={
            "csrf_token": csrf_token(form),
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
        },
    )
    client.post("/deconnexion", data={"csrf_token": csrf_token(home)})
    again = log_in(client, identifiant, PASSWORD)

    assert form.url.path == "/administration/activation"
    assert weak.status_code == 422
    assert "au moins 12 caractères" in text_of(weak)
    assert home.url.path == f"/administration/ecoles/{SCHOOL}"
    assert again.url.path == f"/administration/ecoles/{SCHOOL}"
    assert "Classe 6B" in text_of(home)


async def test_class_page_statuses_without_secrets(sample_system, new_client):
    client = staff_client(sample_system, new_client, "directeur", SCHOOL)
    locked = await account_id(sample_system, CLEMENT_MOTHER)
    disabled = await account_id(sample_system, CHEVALIER_MOTHER)
    _, provisional = sample_system.notice(CLEMENT_FATHER)
    connection = await database(sample_system)
    try:
        await connection.execute(
            "UPDATE identity.accounts SET locked_until = now() + interval '1 hour'"
            " WHERE account_id = $1",
            locked,
        )
        await connection.execute(
            "UPDATE identity.accounts SET disabled_at = now() WHERE account_id = $1",
            disabled,
        )
        page = client.get(
            f"/administration/ecoles/{SCHOOL}/classe", params={"code": CLASSE}
        )
    finally:
        await connection.execute(
            "UPDATE identity.accounts SET locked_until = NULL, disabled_at = NULL"
            " WHERE account_id = ANY($1::uuid[])",
            [locked, disabled],
        )
        await connection.close()

    text = text_of(page)
    assert page.status_code == 200
    assert re.search(r"CLÉMENT \S+ verrouillé", text), text
    assert re.search(r"CHEVALIER \S+ désactivé", text), text
    assert "non activé" in text
    assert "proposé" in text
    assert provisional not in page.text
    for birth_date in birth_dates_of_class(SCHOOL, CLASSE):
        assert birth_date not in text


async def test_provisional_password_reset_audited(sample_system, new_client):
    client = staff_client(sample_system, new_client, "directeur", SCHOOL)
    target = await account_id(sample_system, CLEMENT_FATHER)
    identifiant, before = sample_system.notice(CLEMENT_FATHER)
    page = client.get(
        f"/administration/ecoles/{SCHOOL}/classe", params={"code": CLASSE}
    )

    done = client.post(
        f"/administration/ecoles/{SCHOOL}/comptes/{target}/mot-de-passe-provisoire",
        data={"csrf_token": csrf_token(page), "classe": CLASSE},
    )
    _, after = sample_system.notice(CLEMENT_FATHER)
    notice = client.get(
        f"/administration/ecoles/{SCHOOL}/notices", params={"compte": str(target)}
    )

    assert "Un nouveau mot de passe provisoire a été créé" in text_of(done)
    assert done.url.path == f"/administration/ecoles/{SCHOOL}/classe"
    assert after != before
    assert log_in(new_client(), identifiant, before).status_code == 401
    assert log_in(new_client(), identifiant, after).url.path == "/activation"
    assert after in text_of(notice)
    assert identifiant in text_of(notice)
    assert await audit_rows(sample_system, target) == [
        "provisional_password_reset",
        "notices_printed",
    ]


async def test_disabled_account_login_until_reenabled(sample_system, new_client):
    client = staff_client(sample_system, new_client, "directeur", SCHOOL)
    target = await account_id(sample_system, CHEVALIER_MOTHER)
    identifiant, provisional = sample_system.notice(CHEVALIER_MOTHER)
    page = client.get(
        f"/administration/ecoles/{SCHOOL}/classe", params={"code": CLASSE}
    )
    base = f"/administration/ecoles/{SCHOOL}/comptes/{target}"

    disabled = client.post(
        base + "/desactiver", data={"csrf_token": csrf_token(page), "classe": CLASSE}
    )
    refused = log_in(new_client(), identifiant, provisional)
    enabled = client.post(
        base + "/reactiver", data={"csrf_token": csrf_token(page), "classe": CLASSE}
    )
    accepted = log_in(new_client(), identifiant, provisional)

    assert "est désactivé" in text_of(disabled)
    assert refused.url.path == "/connexion"
    assert "est réactivé" in text_of(enabled)
    assert accepted.url.path == "/activation"
    assert (await sample_system.account(CHEVALIER_MOTHER))["disabled_at"] is None
    assert await audit_rows(sample_system, target) == [
        "account_disabled",
        "account_enabled",
    ]


async def test_class_notices_of_accounts_not_activated(sample_system, new_client):
    client = staff_client(sample_system, new_client, "directeur", SCHOOL)
    identifiant, provisional = sample_system.notice(CLEMENT_MOTHER)

    page = client.get(
        f"/administration/ecoles/{SCHOOL}/notices", params={"classe": CLASSE}
    )

    text = text_of(page)
    assert page.status_code == 200
    assert f"Identifiant {identifiant} Mot de passe provisoire {provisional}" in text
    assert "Bastien CLÉMENT (6B)" in text


async def test_directeur_other_school_not_found(sample_system, new_client):
    client = staff_client(sample_system, new_client, "directeur", SCHOOL)
    page = client.get(f"/administration/ecoles/{SCHOOL}")
    token = csrf_token(page)
    other = await account_id(sample_system, OTHER_SCHOOL_RESPONSABLE)
    own = await account_id(sample_system, CLEMENT_MOTHER)

    answers = {
        "other school": client.get(f"/administration/ecoles/{OTHER_SCHOOL}"),
        "other class": client.get(
            f"/administration/ecoles/{SCHOOL}/classe", params={"code": "3EME1"}
        ),
        "other school's class": client.get(
            f"/administration/ecoles/{OTHER_SCHOOL}/classe", params={"code": "3EME1"}
        ),
        "other school's notices": client.get(
            f"/administration/ecoles/{OTHER_SCHOOL}/notices", params={"classe": "3EME1"}
        ),
        "other account's notice": client.get(
            f"/administration/ecoles/{SCHOOL}/notices", params={"compte": str(other)}
        ),
        "other account": client.post(
            f"/administration/ecoles/{SCHOOL}/comptes/{other}/desactiver",
            data={"csrf_token": token},
        ),
        "other account's reset": client.post(
            f"/administration/ecoles/{SCHOOL}/comptes/{other}/mot-de-passe-provisoire",
            data={"csrf_token": token},
        ),
        "own account through the other school": client.post(
            f"/administration/ecoles/{OTHER_SCHOOL}/comptes/{own}/desactiver",
            data={"csrf_token": token},
        ),
        "IEN statistics": client.get("/administration/circonscriptions/0999-NORD"),
    }
    without_token = client.post(
        f"/administration/ecoles/{SCHOOL}/comptes/{own}/desactiver",
        data={"csrf_token": "pas-le-bon-jeton"},
    )

    assert {name: page.status_code for name, page in answers.items()} == {
        name: 404 for name in answers
    }
    assert without_token.status_code == 403
    for responsable_id in (OTHER_SCHOOL_RESPONSABLE, CLEMENT_MOTHER):
        assert (await sample_system.account(responsable_id))["disabled_at"] is None
    assert await audit_rows(sample_system, other) == []


async def expected_figures(sample_system, uai: str) -> str:
    """Return « pupils responsables activated rate » of a school, counted
    straight from the links and identity tables."""
    connection = await database(sample_system)
    try:
        row = await connection.fetchrow(
            """
            SELECT count(DISTINCT e.eleve_id) AS pupils,
                   count(DISTINCT l.responsable_id) AS responsables,
                   count(DISTINCT l.responsable_id)
                       FILTER (WHERE a.activated_at IS NOT NULL) AS activated
            FROM links.eleves e
            JOIN links.links l USING (eleve_id)
            LEFT JOIN identity.account_responsables held
                ON held.responsable_id = l.responsable_id
            LEFT JOIN identity.accounts a ON a.account_id = held.account_id
            WHERE e.uai = $1 AND e.enrolled
            """,
            uai,
        )
    finally:
        await connection.close()
    rate = round(100 * row["activated"] / row["responsables"])
    return f"{row['pupils']} {row['responsables']} {row['activated']} {rate} %"


async def test_ien_statistics_own_circonscription(sample_system, new_client):
    client = staff_client(sample_system, new_client, "ien", "0999-NORD")
    identifiant, provisional = sample_system.notice(CHEVALIER_FATHER)
    activate(
        new_client(),
        identifiant,
        provisional,
        email="mamadou.chevalier@example.com",
        password=PASSWORD,
        birth_dates={"Louis": "01/01/2014"},
    )

    page = client.get("/administration")
    other = client.get("/administration/circonscriptions/0999-SUD")
    school = client.get(f"/administration/ecoles/{SCHOOL}")

    text = text_of(page)
    assert page.url.path == "/administration/circonscriptions/0999-NORD"
    assert "Taux d'activation" in text
    assert "0999201N" in text and SCHOOL in text
    assert OTHER_SCHOOL not in text
    figures = await expected_figures(sample_system, SCHOOL)
    activated = int(figures.split()[2])
    assert f"{SCHOOL} {figures}" in text
    assert activated >= 1
    assert other.status_code == 404
    assert school.status_code == 404


async def test_parents_and_visitors_kept_out(sample_system, new_client):
    identifiant, provisional = sample_system.notice(CLEMENT_MOTHER)
    parent = new_client()
    log_in(parent, identifiant, provisional)

    as_parent = parent.get(f"/administration/ecoles/{SCHOOL}")
    as_visitor = new_client().get("/administration")

    assert as_parent.status_code == 404
    assert as_visitor.url.path == "/connexion"


async def test_staff_link_screens_redirected(sample_system, new_client):
    client = staff_client(sample_system, new_client, "directeur", SCHOOL)
    home = f"/administration/ecoles/{SCHOOL}"
    token = csrf_token(client.get(home))
    screens = (
        "/portail",
        "/activation",
        "/activation/confirmation",
        "/actions-compte",
        "/actions-compte/enfants",
        "/mon-compte/enfants/confirmation",
    )

    landed = {path: client.get(path).url.path for path in screens}
    posted = client.post("/mon-compte/enfants/refus", data={"csrf_token": token})

    assert landed == {path: home for path in screens}
    assert posted.url.path == home


async def test_ecole_classes_shown_by_label(sample_system, new_client):
    client = staff_client(sample_system, new_client, "directeur", "0999201N")

    school = client.get("/administration")
    classe = client.get(
        "/administration/ecoles/0999201N/classe", params={"code": "CE2 M. Imaginaire"}
    )

    assert school.url.path == "/administration/ecoles/0999201N"
    assert "Classe CE2 M. Imaginaire" in text_of(school)
    assert classe.status_code == 200
    assert "Inès BENALI" in text_of(classe)


async def test_pupil_account_managed_from_class(sample_system, new_client):
    client = staff_client(sample_system, new_client, "directeur", SCHOOL)
    pupil = await sample_system.pupil_account(SEBASTIEN_GAUTHIER)
    identifiant, before = sample_system.pupil_notice(SEBASTIEN_GAUTHIER)
    page = client.get(
        f"/administration/ecoles/{SCHOOL}/classe", params={"code": CLASSE}
    )

    done = client.post(
        f"/administration/ecoles/{SCHOOL}/comptes/{pupil['account_id']}"
        "/mot-de-passe-provisoire",
        data={"csrf_token": csrf_token(page), "classe": CLASSE},
    )
    _, after = sample_system.pupil_notice(SEBASTIEN_GAUTHIER)
    notice = client.get(
        f"/administration/ecoles/{SCHOOL}/notices",
        params={"compte": str(pupil["account_id"])},
    )

    assert "Compte de l'élève" in text_of(page)
    assert identifiant in text_of(page)
    assert "Un nouveau mot de passe provisoire a été créé" in text_of(done)
    assert after != before
    assert log_in(new_client(), identifiant, before).status_code == 401
    assert log_in(new_client(), identifiant, after).url.path == "/activation-eleve"
    assert after in text_of(notice)
    assert f"Élève de la classe {CLASSE}" in text_of(notice)
