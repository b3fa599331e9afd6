"""*Ajouter les enfants d'un autre compte*: a parent with several notices (one
per school, or one per child) brings the responsable records of another
account of theirs into the account they use. The other account proves to be
theirs by its identifiant and provisional password, so only accounts not yet
activated can be grouped, and both must bear the same name.

The records move. The other account keeps its identifiant but no record any
more, so it shows no child and cannot be activated."""

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.identity import account_kinds, accounts, passwords, throttle
from services.identity.account_pages import ACCOUNT_PAGE, FLASH_KEY
from services.identity.creation import move_records
from services.identity.forms import has_control_character
from services.identity.settings import Settings
from services.identity.web import (
    ACTIONS_PAGE,
    AppSettings,
    CurrentSession,
    Links,
    Pool,
    _check_csrf,
    _current_account,
    _links_to_decide,
    _redirect,
    _render,
)
from shared.logging import get_logger
from shared.names import name_key

logger = get_logger(__name__)
router = APIRouter(dependencies=[Depends(account_kinds.keep_to_own_pages)])

GROUPING_PAGE = ACCOUNT_PAGE + "/enfants/autre-compte"

MESSAGES = {
    "identifiant_missing": "Saisissez l'identifiant de l'autre compte, tel qu'il "
    "figure sur sa notice.",
    "password_missing": "Saisissez le mot de passe provisoire de l'autre compte.",
    # One message for every refusal of the other account, so that the form
    # does not confirm that a provisional password was right.
    "credentials_wrong": "Identifiant ou mot de passe provisoire incorrect, "
    "compte déjà activé ou compte au nom d'une autre personne. Seul un compte à "
    "votre nom et pas encore activé peut être ajouté, avec le mot de passe "
    "provisoire de sa notice ; un autre représentant légal active son propre "
    "compte.",
    "nothing_held": "Ce compte ne donne accès à aucun enfant : il n'y a rien à "
    "ajouter.",
    "control_character": "Ce champ contient un caractère invisible qui n'est pas "
    "accepté (caractère de contrôle, souvent ajouté par un copier-coller). "
    "Saisissez-le de nouveau au clavier.",
}


def _grouping_form(request, identifiant: str, errors, status_code=200):
    return _render(
        request,
        "regroupement.html",
        {"identifiant": identifiant, "errors": errors},
        status_code=status_code,
    )


async def _own_activated_account(pool, session):
    account = await _current_account(pool, session)
    if (
        account is None
        or account["activated_at"] is None
        or account["kind"] != "responsable"
    ):
        return None
    return account


@router.get(GROUPING_PAGE)
async def grouping_page(request: Request, pool: Pool, session: CurrentSession):
    """Show the form asking for the other account's identifiant and
    provisional password."""
    if await _own_activated_account(pool, session) is None:
        return _redirect("/connexion")
    return _grouping_form(request, "", {})


@router.post(GROUPING_PAGE)
async def group_accounts(
    request: Request,
    pool: Pool,
    links: Links,
    settings: AppSettings,
    session: CurrentSession,
    identifiant: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Move the other account's responsable records to this account when its
    identifiant and provisional password match and it bears the same name.
    Attempts are throttled like logins, per identifiant and per address, and
    an unknown identifiant gets the same response as a wrong password."""
    _check_csrf(session, csrf_token)
    account = await _own_activated_account(pool, session)
    if account is None:
        return _redirect("/connexion")
    errors = _form_errors(identifiant, password)
    if errors:
        logger.info(
            "grouping_rejected",
            account_id=str(account["account_id"]),
            fields=sorted(errors),
        )
        return _grouping_form(request, identifiant.strip(), errors, 422)

    address = request.client.host if request.client else "inconnue"
    keys = {
        throttle.identifiant_key(identifiant): throttle.IDENTIFIANT_LIMITS,
        throttle.address_key(address): throttle.ADDRESS_LIMITS,
    }
    # As at login, the throttle is checked before any hash is computed, and
    # the keys stay locked until the failure is counted.
    async with pool.acquire() as connection, connection.transaction():
        await throttle.lock_keys(connection, list(keys))
        wait = await throttle.wait_before_login(connection, keys)
        problem = None
        if not wait:
            problem = await _group(connection, settings, account, identifiant, password)
            if problem == "credentials_wrong":
                await throttle.record_failure(connection, list(keys))
    if wait:
        logger.warning("grouping_throttled", wait_seconds=int(wait.total_seconds()))
        errors = {"identifiant": throttle.wait_message(wait)}
        return _grouping_form(request, identifiant.strip(), errors, 429)
    if problem:
        logger.info(
            "grouping_rejected", account_id=str(account["account_id"]), reason=problem
        )
        errors = {"identifiant": MESSAGES[problem]}
        return _grouping_form(request, identifiant.strip(), errors, 422)

    refreshed = await _current_account(pool, session)
    pending = await _links_to_decide(links, refreshed["responsable_ids"])
    flash = "Les enfants de l'autre compte ont été ajoutés à votre compte."
    if pending:
        flash += (
            " Indiquez si vous en êtes le représentant légal avec « Ajout d'enfants »."
        )
    session.data[FLASH_KEY] = flash
    return _redirect(ACTIONS_PAGE if pending else ACCOUNT_PAGE)


def _form_errors(identifiant: str, password: str) -> dict[str, str]:
    errors = {}
    if has_control_character(identifiant):
        errors["identifiant"] = MESSAGES["control_character"]
    elif not identifiant.strip():
        errors["identifiant"] = MESSAGES["identifiant_missing"]
    if not password.strip():
        errors["password"] = MESSAGES["password_missing"]
    return errors


async def _group(
    connection: asyncpg.Connection,
    settings: Settings,
    account,
    identifiant: str,
    password: str,
) -> str | None:
    """Check the other account and move its records; returns the problem, a
    key of MESSAGES, or None when the records moved."""
    other = None
    if throttle.is_plausible_identifiant(identifiant):
        other = await accounts.find_by_identifiant(connection, identifiant)
    # One argon2 verification's worth of time whatever happens, as at login,
    # so the time taken does not tell whether the identifiant exists.
    await run_in_threadpool(passwords.spend_verification_time, password)
    if (
        other is None
        or other["activated_at"] is not None
        or other["disabled_at"] is not None
        or other["kind"] != "responsable"
        or other["account_id"] == account["account_id"]
        or not passwords.check_provisional_password(
            settings.notice_secret,
            other["account_id"],
            password,
            other["notice_version"],
        )
    ):
        return "credentials_wrong"
    if (name_key(other["nom"]), name_key(other["prenom"])) != (
        name_key(account["nom"]),
        name_key(account["prenom"]),
    ):
        logger.info(
            "grouping_refused_other_name", account_id=str(account["account_id"])
        )
        return "credentials_wrong"

    held = await connection.fetch(
        "SELECT responsable_id FROM account_responsables WHERE account_id = $1"
        " FOR UPDATE",
        other["account_id"],
    )
    if not held:
        return "nothing_held"
    await move_records(
        connection,
        [(row["responsable_id"], other["account_id"]) for row in held],
        to_account_id=account["account_id"],
        reason="grouping",
    )
    logger.info(
        "accounts_grouped",
        account_id=str(account["account_id"]),
        from_account_id=str(other["account_id"]),
        records=len(held),
    )
    return None
