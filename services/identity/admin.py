"""*Administration des comptes*: a directeur d'école or chef d'établissement
sees their school's classes, pupils and responsables with each account's
status and each link's state, resets provisional passwords, prints notices
and disables or re-enables accounts; an IEN sees the statistics of the
schools of their circonscription. Every page checks the staff member's scope:
another school or circonscription is a 404, as if it did not exist."""

import uuid
from typing import Annotated
from urllib.parse import quote

import asyncpg
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.identity import accounts, passwords
from services.identity.admin_data import (
    CORRECTION_DAYS,
    School,
    load_school,
    load_statistics,
)
from services.identity.admin_scope import StaffScope, record_action, staff_scope
from services.identity.forms import new_password_errors
from services.identity.web import (
    AppSettings,
    CurrentSession,
    Links,
    Pool,
    _check_csrf,
    _current_account,
    _redirect,
    _render,
)
from shared.logging import get_logger

logger = get_logger(__name__)
router = APIRouter()

ADMIN_PAGE = "/administration"
ACTIVATION_PAGE = ADMIN_PAGE + "/activation"
FLASH_KEY = "admin_flash"
NOT_FOUND = "Cette page n'existe pas ou ne fait pas partie de votre périmètre."


class _NotInScope(Exception):
    """The requested page or account is outside the staff member's scope."""


def _not_found(request: Request) -> Response:
    logger.info("admin_page_not_found", path=request.url.path)
    return _render(request, "erreur.html", {"message": NOT_FOUND}, status_code=404)


async def _staff(pool: asyncpg.Pool, session) -> tuple[object, StaffScope | None]:
    """Return the logged-in account and its staff scope (None when the
    account is not a staff account)."""
    account = await _current_account(pool, session)
    if account is None or account["kind"] != "personnel":
        return account, None
    async with pool.acquire() as connection:
        return account, await staff_scope(connection, account["account_id"])


def _school_page(uai: str) -> str:
    return f"{ADMIN_PAGE}/ecoles/{uai}"


def _class_page(uai: str, classe: str) -> str:
    return f"{_school_page(uai)}/classe?code={quote(classe, safe='')}"


async def _entry(request: Request, pool: asyncpg.Pool, session):
    """Return (account, scope, None) for an activated staff account, else
    (None, None, the response to send instead)."""
    account, scope = await _staff(pool, session)
    if account is None:
        return None, None, _redirect("/connexion")
    if scope is None:
        return None, None, _not_found(request)
    if account["activated_at"] is None:
        return None, None, _redirect(ACTIVATION_PAGE)
    return account, scope, None


@router.get(ADMIN_PAGE)
async def administration(request: Request, pool: Pool, session: CurrentSession):
    """Send a directeur to their school's classes and an IEN to the
    statistics of their circonscription."""
    account, scope, other = await _entry(request, pool, session)
    if other is not None:
        return other
    if scope.uai is not None:
        return _redirect(_school_page(scope.uai))
    if scope.circonscription is None:
        return _render(
            request,
            "erreur.html",
            {
                "message": "Votre circonscription n'est plus dans la configuration. "
                "Merci de contacter l'assistance de votre académie."
            },
            status_code=404,
        )
    return _redirect(f"{ADMIN_PAGE}/circonscriptions/{scope.circonscription.code}")


@router.get(ACTIVATION_PAGE)
async def staff_activation_page(request: Request, pool: Pool, session: CurrentSession):
    """Ask a staff member logged in with their provisional password to choose
    their password."""
    account, scope = await _staff(pool, session)
    if account is None:
        return _redirect("/connexion")
    if scope is None:
        return _not_found(request)
    if account["activated_at"] is not None:
        return _redirect(ADMIN_PAGE)
    return _activation_form(request, account, {})


def _activation_form(request: Request, account, errors: dict[str, str]) -> Response:
    return _render(
        request,
        "admin_activation.html",
        {
            "account": account,
            "errors": errors,
            "min_password_length": passwords.MIN_PASSWORD_LENGTH,
        },
        status_code=422 if errors else 200,
    )


@router.post(ACTIVATION_PAGE)
async def staff_activate(
    request: Request,
    pool: Pool,
    session: CurrentSession,
    password: Annotated[str, Form()] = "",
    password_confirmation: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
):
    """Check the new password with the same rules as a parent's and activate
    the staff account; nothing is stored while the password is refused."""
    _check_csrf(session, csrf_token)
    account, scope = await _staff(pool, session)
    if account is None:
        return _redirect("/connexion")
    if scope is None:
        return _not_found(request)
    if account["activated_at"] is not None:
        return _redirect(ADMIN_PAGE)
    errors = new_password_errors(
        password,
        password_confirmation,
        [account["identifiant"], account["nom"], account["prenom"]],
    )
    if errors:
        return _activation_form(request, account, errors)
    password_hash = await run_in_threadpool(passwords.hash_password, password)
    async with pool.acquire() as connection:
        await connection.execute(
            """
            UPDATE accounts SET password_hash = $2, activated_at = now(),
                                updated_at = now()
            WHERE account_id = $1 AND activated_at IS NULL
            """,
            account["account_id"],
            password_hash,
        )
    logger.info("staff_account_activated", account_id=str(account["account_id"]))
    return _redirect(ADMIN_PAGE)


def _check_school(scope: StaffScope, uai: str) -> None:
    if scope.uai is None or scope.uai != uai:
        raise _NotInScope()


@router.get(ADMIN_PAGE + "/ecoles/{uai}")
async def school_page(
    request: Request, uai: str, pool: Pool, links: Links, session: CurrentSession
):
    """List the school's classes with their counts of pupils, responsables,
    activated accounts and links to decide."""
    account, scope, other = await _entry(request, pool, session)
    if other is not None:
        return other
    if scope.uai != uai:
        return _not_found(request)
    async with pool.acquire() as connection:
        school = await load_school(links, connection, uai)
    return _render(
        request,
        "admin_ecole.html",
        {
            "account": account,
            "school": school,
            "summaries": school.class_summaries(),
            "class_page": _class_page,
            "flash": session.data.pop(FLASH_KEY, None),
        },
    )


@router.get(ADMIN_PAGE + "/ecoles/{uai}/classe")
async def class_page(
    request: Request,
    uai: str,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    code: Annotated[str, Query(max_length=100)] = "",
):
    """List the pupils of one class, each with their responsables, the state
    of each link and the status of each responsable's account, with the
    actions on each account."""
    account, scope, other = await _entry(request, pool, session)
    if other is not None:
        return other
    if scope.uai != uai:
        return _not_found(request)
    async with pool.acquire() as connection:
        school = await load_school(links, connection, uai, code)
    if code not in school.classes:
        return _not_found(request)
    return _render(
        request,
        "admin_classe.html",
        {
            "account": account,
            "school": school,
            "classe": code,
            "class_page": _class_page,
            "flash": session.data.pop(FLASH_KEY, None),
        },
    )


async def _account_in_school(
    links, connection: asyncpg.Connection, uai: str, account_id: uuid.UUID
) -> tuple[School, object]:
    """Return the school and the account of one of its pupils or of a
    responsable linked to one; raise _NotInScope for any other account."""
    school = await load_school(links, connection, uai)
    if account_id not in school.accounts():
        raise _NotInScope()
    row = await accounts.get_account(connection, account_id)
    if row is None or row["kind"] not in ("responsable", "eleve"):
        raise _NotInScope()
    return school, row


def _pupil_class_of(school: School, account_id: uuid.UUID) -> str | None:
    for pupil in school.pupils:
        if pupil.account is not None and pupil.account.account_id == account_id:
            return pupil.classe
        for row in pupil.responsables:
            if row.account is not None and row.account.account_id == account_id:
                return pupil.classe
    return None


def _back(uai: str, classe: str, school: School, account_id: uuid.UUID) -> str:
    if classe not in school.classes:
        classe = _pupil_class_of(school, account_id) or ""
    return _class_page(uai, classe) if classe else _school_page(uai)


def _full_name(row) -> str:
    return f"{row['civilite']} {row['prenom']} {row['nom']}".strip()


@router.post(ADMIN_PAGE + "/ecoles/{uai}/comptes/{account_id}/{action}")
async def account_action(
    request: Request,
    uai: str,
    account_id: uuid.UUID,
    action: str,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    classe: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form()] = "",
):
    """Apply one action on an account of the school, a pupil's or a
    responsable's. ``mot-de-passe-provisoire`` gives a new provisional
    password (the printed notice no longer works) to an account not yet
    activated, or to a pupil's activated account, which is then activated
    again with the new notice.
    ``desactiver`` keeps the account from logging in and ends its sessions,
    ``reactiver`` lifts that. Each action is recorded in the staff audit."""
    _check_csrf(session, csrf_token)
    account, scope, other = await _entry(request, pool, session)
    if other is not None:
        return other
    if action not in ACTIONS:
        return _not_found(request)
    try:
        _check_school(scope, uai)
        async with pool.acquire() as connection:
            school, target = await _account_in_school(
                links, connection, uai, account_id
            )
            async with connection.transaction():
                message = await ACTIONS[action](connection, scope, uai, target)
    except _NotInScope:
        logger.warning(
            "staff_action_out_of_scope",
            staff_account_id=str(account["account_id"]),
            action=action,
        )
        return _not_found(request)
    logger.info(
        "staff_action_applied",
        staff_account_id=str(account["account_id"]),
        action=action,
        account_id=str(account_id),
    )
    session.data[FLASH_KEY] = message
    return _redirect(_back(uai, classe, school, account_id))


async def _reset_provisional_password(connection, scope, uai, target) -> str:
    if target["kind"] == "eleve" and target["activated_at"] is not None:
        # A pupil has no e-mail for « Mot de passe oublié »: the school gives
        # a new notice, and the pupil chooses a password again with it.
        await connection.execute(
            "UPDATE accounts SET activated_at = NULL, password_hash = NULL,"
            " locked_until = NULL, updated_at = now() WHERE account_id = $1",
            target["account_id"],
        )
    elif target["activated_at"] is not None:
        return (
            f"Le compte de {_full_name(target)} est déjà activé : son mot de passe "
            "ne peut pas être réinitialisé ici. Le responsable peut utiliser "
            "« Mot de passe oublié » sur la page de connexion."
        )
    await connection.execute(
        "UPDATE accounts SET notice_version = notice_version + 1, updated_at = now()"
        " WHERE account_id = $1",
        target["account_id"],
    )
    # A session opened with the previous password must not finish activation.
    await connection.execute(
        "DELETE FROM sessions WHERE account_id = $1", target["account_id"]
    )
    await record_action(
        connection,
        scope,
        "provisional_password_reset",
        uai=uai,
        target_account_id=target["account_id"],
    )
    return (
        f"Un nouveau mot de passe provisoire a été créé pour {_full_name(target)}. "
        "L'ancienne notice ne fonctionne plus : imprimez la nouvelle."
    )


async def _disable(connection, scope, uai, target) -> str:
    await connection.execute(
        "UPDATE accounts SET disabled_at = coalesce(disabled_at, now()),"
        " updated_at = now() WHERE account_id = $1",
        target["account_id"],
    )
    # Its sessions end, and reset links sent before do not outlive the
    # decision if the account is enabled again.
    await connection.execute(
        "DELETE FROM sessions WHERE account_id = $1", target["account_id"]
    )
    await accounts.void_reset_links(connection, target["account_id"])
    await record_action(
        connection,
        scope,
        "account_disabled",
        uai=uai,
        target_account_id=target["account_id"],
    )
    return f"Le compte de {_full_name(target)} est désactivé."


async def _enable(connection, scope, uai, target) -> str:
    await connection.execute(
        "UPDATE accounts SET disabled_at = NULL, updated_at = now()"
        " WHERE account_id = $1",
        target["account_id"],
    )
    await record_action(
        connection,
        scope,
        "account_enabled",
        uai=uai,
        target_account_id=target["account_id"],
    )
    return f"Le compte de {_full_name(target)} est réactivé."


ACTIONS = {
    "mot-de-passe-provisoire": _reset_provisional_password,
    "desactiver": _disable,
    "reactiver": _enable,
}


@router.get(ADMIN_PAGE + "/ecoles/{uai}/notices")
async def notices_page(
    request: Request,
    uai: str,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    settings: AppSettings,
    classe: Annotated[str | None, Query(max_length=100)] = None,
    compte: Annotated[uuid.UUID | None, Query()] = None,
):
    """Show a page to print: the notice (identifiant and provisional
    password) of each account of a class not yet activated, pupils' and
    responsables', or of one account. Printing is recorded in the staff
    audit."""
    account, scope, other = await _entry(request, pool, session)
    if other is not None:
        return other
    if scope.uai != uai or (classe is None) == (compte is None):
        return _not_found(request)
    async with pool.acquire() as connection:
        school = await load_school(links, connection, uai, classe)
        if classe is not None and classe not in school.classes:
            return _not_found(request)
        holders = school.accounts()
        if compte is not None and compte not in holders:
            return _not_found(request)
        wanted = [compte] if compte is not None else list(holders)
        rows = await connection.fetch(
            """
            SELECT account_id, identifiant, civilite, nom, prenom, notice_version
            FROM accounts
            WHERE account_id = ANY($1::uuid[]) AND kind IN ('responsable', 'eleve')
              AND activated_at IS NULL AND disabled_at IS NULL
            ORDER BY kind DESC, nom, prenom, identifiant
            """,
            wanted,
        )
        async with connection.transaction():
            for row in rows:
                await record_action(
                    connection,
                    scope,
                    "notices_printed",
                    uai=uai,
                    target_account_id=row["account_id"],
                    classe=classe,
                )
    children = _children_by_account(school)
    pupil_classes = _pupil_accounts(school)
    notices = [
        {
            "identifiant": row["identifiant"],
            "nom_complet": _full_name(row),
            "mot_de_passe": passwords.provisional_password(
                settings.notice_secret, row["account_id"], row["notice_version"]
            ),
            "enfants": children.get(row["account_id"], []),
            "classe_eleve": pupil_classes.get(row["account_id"]),
        }
        for row in rows
    ]
    logger.info(
        "staff_notices_printed",
        staff_account_id=str(account["account_id"]),
        count=len(notices),
    )
    return _render(
        request,
        "admin_notices.html",
        {
            "school": school,
            "classe": classe,
            "notices": notices,
            "login_address": settings.public_base_url + "/connexion",
            "back": _class_page(uai, classe) if classe else _school_page(uai),
        },
    )


def _children_by_account(school: School) -> dict[uuid.UUID, list[str]]:
    children: dict[uuid.UUID, list[str]] = {}
    for pupil in school.pupils:
        for row in pupil.responsables:
            if row.account is not None:
                children.setdefault(row.account.account_id, []).append(
                    f"{pupil.prenom} {pupil.nom} ({pupil.classe})"
                )
    return children


def _pupil_accounts(school: School) -> dict[uuid.UUID, str]:
    """The class of each pupil account of the school, by account id."""
    return {
        pupil.account.account_id: pupil.classe
        for pupil in school.pupils
        if pupil.account is not None
    }


@router.get(ADMIN_PAGE + "/circonscriptions/{code}")
async def circonscription_page(
    request: Request, code: str, pool: Pool, links: Links, session: CurrentSession
):
    """Show an IEN, for each school of their circonscription, the activation
    rate of responsable accounts, the links proposed and refused, and the
    refusals not corrected after the correction deadline."""
    account, scope, other = await _entry(request, pool, session)
    if other is not None:
        return other
    if scope.circonscription is None or scope.circonscription.code != code:
        return _not_found(request)
    async with pool.acquire() as connection:
        statistics = await load_statistics(
            links, connection, scope.circonscription.uais
        )
    return _render(
        request,
        "admin_circonscription.html",
        {
            "account": account,
            "circonscription": scope.circonscription,
            "statistics": statistics,
            "correction_days": CORRECTION_DAYS,
        },
    )
