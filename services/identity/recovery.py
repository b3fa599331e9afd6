"""*Mot de passe oublié*: a link sent by e-mail lets the account holder choose
a new password, which also unlocks an account locked after too many wrong
passwords.

The request page shows the same text whether an account matches or not. A
link works once, for ``Settings.password_reset_minutes``, and asking for a new
one voids the earlier ones. After the reset the person logs in again on the
login page: every session of the account, including one a guesser may have
opened, is ended."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.identity import accounts, passwords, throttle, tokens
from services.identity.forms import (
    MESSAGES,
    has_control_character,
    new_password_errors,
)
from services.identity.messages import request_message
from services.identity.settings import Settings
from services.identity.web import (
    AppSettings,
    CurrentSession,
    Pool,
    _check_csrf,
    _redirect,
    _render,
)
from shared.contracts.account_messages import PasswordResetRequested
from shared.logging import get_logger

logger = get_logger(__name__)
router = APIRouter()

REQUEST_PAGE = "/mot-de-passe-oublie"
DONE_PAGE = "/mot-de-passe-modifie"


def reset_url(settings: Settings, token: str) -> str:
    """Return the address of the page where ``token`` sets a new password."""
    return f"{settings.public_base_url}{REQUEST_PAGE}/{token}"


@router.get(REQUEST_PAGE)
async def reset_request_page(request: Request) -> Response:
    """Show the form asking for the identifiant or the e-mail address."""
    return _render(
        request, "mot_de_passe_oublie.html", {"login": "", "errors": {}, "sent": False}
    )


@router.post(REQUEST_PAGE)
async def request_reset(
    request: Request,
    pool: Pool,
    settings: AppSettings,
    session: CurrentSession,
    login: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Send a reset link to the e-mail address of the activated account that
    logs in with ``login``, through a ``PasswordResetRequested`` message. The
    page shows the same text whether an account matches or not, and requests
    are throttled per login typed and per client address."""
    _check_csrf(session, csrf_token)
    login = login.strip()
    if has_control_character(login):
        return _request_form(request, "", {"login": MESSAGES["control_character"]})
    if not login:
        return _request_form(request, "", {"login": MESSAGES["login_missing"]})

    address = request.client.host if request.client else "inconnue"
    keys = {
        throttle.reset_target_key(login): throttle.RESET_TARGET_LIMITS,
        throttle.reset_address_key(address): throttle.RESET_ADDRESS_LIMITS,
    }
    async with pool.acquire() as connection, connection.transaction():
        await throttle.lock_keys(connection, list(keys))
        wait = await throttle.wait_before_login(connection, keys)
        if not wait:
            await throttle.record_failure(connection, list(keys))
            await _send_reset_link(connection, settings, login)
    if wait:
        logger.warning(
            "password_reset_throttled", wait_seconds=int(wait.total_seconds())
        )
        return _request_form(
            request, login, {"login": throttle.reset_wait_message(wait)}, 429
        )
    return _render(
        request,
        "mot_de_passe_oublie.html",
        {
            "login": "",
            "errors": {},
            "sent": True,
            "minutes": settings.password_reset_minutes,
        },
    )


def _request_form(
    request: Request, login: str, errors: dict[str, str], status_code: int = 422
) -> Response:
    return _render(
        request,
        "mot_de_passe_oublie.html",
        {"login": login, "errors": errors, "sent": False},
        status_code=status_code,
    )


async def _send_reset_link(
    connection: asyncpg.Connection, settings: Settings, login: str
) -> None:
    """Issue a reset token for the account of ``login`` and write its
    message, when the account is activated, has an e-mail address and is not
    disabled. Earlier tokens of the account are voided."""
    account = None
    if throttle.is_plausible_identifiant(login):
        account = await accounts.find_by_login(connection, login)
    # NOTE: a login that matches no account skips the two inserts below, a
    # difference of about a millisecond in the response time. Writing dummy
    # rows for unknown logins would hide it at the cost of database writes
    # anyone could trigger.
    if (
        account is None
        or account["activated_at"] is None
        or not account["email"]
        or account["disabled_at"] is not None
    ):
        logger.info("password_reset_not_sent", account_id=None)
        return

    token = tokens.new_token()
    now = datetime.now(UTC)
    expires_at = now + timedelta(minutes=settings.password_reset_minutes)
    await connection.execute(
        "DELETE FROM password_resets WHERE account_id = $1 OR expires_at <= now()",
        account["account_id"],
    )
    await connection.execute(
        "INSERT INTO password_resets (token_hash, account_id, expires_at)"
        " VALUES ($1, $2, $3)",
        tokens.token_hash(token),
        account["account_id"],
        expires_at,
    )
    await request_message(
        connection,
        PasswordResetRequested(
            account_id=str(account["account_id"]),
            email=account["email"],
            display_name=accounts.display_name(account),
            occurred_at=now,
            reset_url=reset_url(settings, token),
            expires_at=expires_at,
        ),
    )
    logger.info("password_reset_requested", account_id=str(account["account_id"]))


async def _account_of_token(
    connection: asyncpg.Connection, token: str, *, for_update: bool = False
):
    """Return the account whose live reset token is ``token``, or None when
    the token is unknown, used, expired, or its account is disabled."""
    row = await connection.fetchrow(
        "SELECT account_id FROM password_resets"
        " WHERE token_hash = $1 AND expires_at > now()"
        + (" FOR UPDATE" if for_update else ""),
        tokens.token_hash(token),
    )
    if row is None:
        return None
    account = await accounts.get_account(connection, row["account_id"])
    if account is None or account["disabled_at"] is not None:
        return None
    if account["activated_at"] is None:
        return None
    return account


def _invalid_link(request: Request) -> Response:
    return _render(
        request,
        "lien_invalide.html",
        {
            "title": "Ce lien n'est plus valable",
            "explanation": "Un lien pour choisir un nouveau mot de passe ne sert "
            "qu'une fois et pendant une durée limitée, et seul le dernier lien "
            "demandé fonctionne.",
            "action_url": REQUEST_PAGE,
            "action_label": "Demander un nouveau lien",
        },
        status_code=404,
    )


@router.get(REQUEST_PAGE + "/{token}")
async def new_password_page(request: Request, pool: Pool, token: str) -> Response:
    """Show the new password form of a live reset link."""
    async with pool.acquire() as connection:
        account = await _account_of_token(connection, token)
    if account is None:
        return _invalid_link(request)
    return _new_password_form(request, token, {})


def _new_password_form(request: Request, token: str, errors: dict[str, str]):
    return _render(
        request,
        "nouveau_mot_de_passe.html",
        {
            "action": f"{REQUEST_PAGE}/{token}",
            "errors": errors,
            "min_password_length": passwords.MIN_PASSWORD_LENGTH,
        },
        status_code=422 if errors else 200,
    )


@router.post(REQUEST_PAGE + "/{token}")
async def reset_password(
    request: Request,
    pool: Pool,
    session: CurrentSession,
    token: str,
    password: Annotated[str, Form()] = "",
    password_confirmation: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Set the new password of a live reset link, under the usual password
    rules. The change unlocks the account, clears the failed logins of its
    identifiant and e-mail, voids every reset link of the account and ends all
    its sessions."""
    _check_csrf(session, csrf_token)
    async with pool.acquire() as connection:
        account = await _account_of_token(connection, token)
    if account is None:
        return _invalid_link(request)
    errors = new_password_errors(
        password,
        password_confirmation,
        [account["identifiant"], account["nom"], account["prenom"], account["email"]],
    )
    if errors:
        logger.info(
            "password_reset_rejected",
            account_id=str(account["account_id"]),
            fields=sorted(errors),
        )
        return _new_password_form(request, token, errors)

    password_hash = await run_in_threadpool(passwords.hash_password, password)
    async with pool.acquire() as connection, connection.transaction():
        # Locks the token, so that two submissions of one link cannot both
        # pass: the second finds it deleted.
        account = await _account_of_token(connection, token, for_update=True)
        if account is None:
            return _invalid_link(request)
        await accounts.reset_password(connection, account["account_id"], password_hash)
        # Someone who had the password may also have requested an e-mail change.
        await accounts.void_reset_links(connection, account["account_id"])
        await connection.execute(
            "DELETE FROM email_verifications WHERE account_id = $1",
            account["account_id"],
        )
        await throttle.forget_failures(
            connection,
            throttle.identifiant_key(account["identifiant"]),
            throttle.identifiant_key(account["email"]),
        )
        await connection.execute(
            "DELETE FROM sessions WHERE account_id = $1", account["account_id"]
        )

    logger.info("password_reset", account_id=str(account["account_id"]))
    if session.account_id == account["account_id"]:
        # Its row was deleted with the account's other sessions, so the
        # browser's cookie is deleted too.
        request.state.session = None
    return _redirect(DONE_PAGE)


@router.get(DONE_PAGE)
async def password_reset_done(request: Request) -> Response:
    """Say that the password was changed and lead to the login page."""
    return _render(request, "mot_de_passe_modifie.html", {})
