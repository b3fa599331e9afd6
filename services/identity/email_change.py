"""*Changer d'adresse électronique* in *Mon compte*: the new address, typed
twice with the current password, receives a verification link, and replaces
the account's address only when that link is opened.

A link works once, for ``Settings.email_verification_hours``; asking for
another voids the earlier ones. An address that another account has is
refused, when asked and again when the link is opened."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from services.identity import account_kinds, accounts, tokens
from services.identity.account_pages import (
    ACCOUNT_PAGE,
    FLASH_KEY,
    _account_page,
    _activated_account,
    _current_password_wait,
    _login_or_activation,
)
from services.identity.forms import MESSAGES, new_email_errors
from services.identity.messages import request_message
from services.identity.settings import Settings
from services.identity.throttle import wait_message
from services.identity.web import (
    AppSettings,
    CurrentSession,
    Links,
    Pool,
    _check_csrf,
    _redirect,
    _render,
)
from shared.contracts.account_messages import EmailVerificationRequested
from shared.logging import get_logger
from shared.names import email_key

logger = get_logger(__name__)
router = APIRouter(dependencies=[Depends(account_kinds.keep_to_own_pages)])

CHANGE_ACTION = ACCOUNT_PAGE + "/adresse-electronique"
VERIFICATION_PAGE = "/adresse-electronique"
# Field names of the form, distinct from those of the password form beside it.
EMAIL_FIELD = "new_email"
CONFIRMATION_FIELD = "new_email_confirmation"
PASSWORD_FIELD = "email_current_password"


def verification_url(settings: Settings, token: str) -> str:
    """Return the address of the page where ``token`` confirms an address."""
    return f"{settings.public_base_url}{VERIFICATION_PAGE}/{token}"


@router.post(CHANGE_ACTION)
async def request_email_change(
    request: Request,
    pool: Pool,
    links: Links,
    settings: AppSettings,
    session: CurrentSession,
    new_email: Annotated[str, Form()] = "",
    new_email_confirmation: Annotated[str, Form()] = "",
    email_current_password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the new address and the current password, then send an
    ``EmailVerificationRequested`` message to the new address. A wrong current
    password counts as a failed login of the identifiant, as on the password
    form."""
    _check_csrf(session, csrf_token)
    account = await _activated_account(pool, session)
    if account is None:
        return _login_or_activation(session)
    new_email = new_email.strip()
    new_email_confirmation = new_email_confirmation.strip()

    errors = new_email_errors(
        new_email, new_email_confirmation, (EMAIL_FIELD, CONFIRMATION_FIELD)
    )
    wait = await _current_password_wait(pool, account, email_current_password)
    if wait:
        errors[PASSWORD_FIELD] = wait_message(wait)
    elif wait is None:
        errors[PASSWORD_FIELD] = MESSAGES["current_password_wrong"]
    elif not errors:
        # Only once the password is right, so that the form cannot be used to
        # learn which addresses other accounts hold.
        errors = await _address_errors(pool, account, new_email)
    if errors:
        logger.info(
            "email_change_rejected",
            account_id=str(account["account_id"]),
            fields=sorted(errors),
        )
        kept = {"email": new_email, "confirmation": new_email_confirmation}
        return await _account_page(
            request,
            links,
            session,
            account,
            errors,
            429 if wait else 422,
            email_form=kept,
        )

    async with pool.acquire() as connection, connection.transaction():
        await _send_verification_link(connection, settings, account, new_email)
    logger.info("email_verification_requested", account_id=str(account["account_id"]))
    session.data[FLASH_KEY] = (
        f"Un lien de confirmation a été envoyé à {email_key(new_email)}. Votre "
        "adresse électronique sera remplacée quand vous l'aurez ouvert, dans les "
        f"{settings.email_verification_hours} heures."
    )
    return _redirect(ACCOUNT_PAGE)


async def _address_errors(pool: asyncpg.Pool, account, new_email: str) -> dict:
    if email_key(new_email) == account["email"]:
        return {EMAIL_FIELD: MESSAGES["email_unchanged"]}
    async with pool.acquire() as connection:
        if await accounts.email_taken(connection, new_email, account["account_id"]):
            return {EMAIL_FIELD: MESSAGES["email_taken"]}
    return {}


async def _send_verification_link(
    connection: asyncpg.Connection, settings: Settings, account, new_email: str
) -> None:
    token = tokens.new_token()
    now = datetime.now(UTC)
    expires_at = now + timedelta(hours=settings.email_verification_hours)
    await connection.execute(
        "DELETE FROM email_verifications WHERE account_id = $1 OR expires_at <= now()",
        account["account_id"],
    )
    await connection.execute(
        "INSERT INTO email_verifications (token_hash, account_id, email, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        tokens.token_hash(token),
        account["account_id"],
        email_key(new_email),
        expires_at,
    )
    await request_message(
        connection,
        EmailVerificationRequested(
            account_id=str(account["account_id"]),
            email=email_key(new_email),
            display_name=accounts.display_name(account),
            occurred_at=now,
            verification_url=verification_url(settings, token),
            expires_at=expires_at,
        ),
    )


@router.get(VERIFICATION_PAGE + "/{token}")
async def verify_email(request: Request, pool: Pool, token: str) -> Response:
    """Replace the account's e-mail address by the one ``token`` was sent to,
    once. Reset links sent to the former address are voided."""
    async with pool.acquire() as connection, connection.transaction():
        row = await connection.fetchrow(
            "SELECT verification.account_id, verification.email"
            " FROM email_verifications verification"
            " JOIN accounts USING (account_id)"
            " WHERE verification.token_hash = $1 AND verification.expires_at > now()"
            " AND accounts.activated_at IS NOT NULL AND accounts.disabled_at IS NULL"
            " FOR UPDATE OF verification",
            tokens.token_hash(token),
        )
        if row is None:
            return _invalid_link(request)
        account_id = row["account_id"]
        await connection.execute(
            "DELETE FROM email_verifications WHERE account_id = $1", account_id
        )
        taken = await accounts.email_taken(connection, row["email"], account_id)
        if not taken:
            try:
                # A savepoint: another account confirming the same address
                # at this moment makes the unique index refuse this one.
                async with connection.transaction():
                    await accounts.change_email(connection, account_id, row["email"])
            except asyncpg.UniqueViolationError:
                taken = True
        if not taken:
            await accounts.void_reset_links(connection, account_id)

    if taken:
        logger.info("email_change_rejected", account_id=str(account_id))
        return _render(
            request,
            "lien_invalide.html",
            {
                "title": "Cette adresse électronique n'a pas pu être enregistrée",
                "explanation": MESSAGES["email_taken"],
                "action_url": "/mot-de-passe-oublie",
                "action_label": "Mot de passe oublié ?",
            },
            status_code=409,
        )
    logger.info("email_changed", account_id=str(account_id))
    return _render(request, "adresse_confirmee.html", {"email": row["email"]})


def _invalid_link(request: Request) -> Response:
    return _render(
        request,
        "lien_invalide.html",
        {
            "title": "Ce lien n'est plus valable",
            "explanation": "Un lien de confirmation d'adresse électronique ne "
            "sert qu'une fois et pendant une durée limitée, et seul le dernier "
            "lien demandé fonctionne.",
            "action_url": ACCOUNT_PAGE,
            "action_label": "Aller à Mon compte",
        },
        status_code=404,
    )
