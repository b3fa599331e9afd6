"""Pages of *Créer un compte sans notice*: name and mobile phone, the one-time
code sent by SMS to the phone in the school's export, then the new account's
identifiant before *Activation du compte*."""

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from services.identity import creation, sessions
from services.identity.creation import CodeCheck
from services.identity.forms import has_control_character
from services.identity.phones import is_mobile_key, phone_key
from services.identity.web import (
    AppSettings,
    CurrentSession,
    Pool,
    _check_csrf,
    _redirect,
    _render,
)
from shared.logging import get_logger

logger = get_logger(__name__)
router = APIRouter()

CREATION_PAGE = "/creer-un-compte"
CODE_PAGE = CREATION_PAGE + "/code"
CREATED_PAGE = CREATION_PAGE + "/compte-cree"
CODE_KEY = "creation_code"
CREATED_KEY = "created_identifiant"
MAX_NAME_LENGTH = 100

MESSAGES = {
    "nom_missing": "Saisissez votre nom de famille.",
    "prenom_missing": "Saisissez votre prénom.",
    "name_long": f"Ce champ doit contenir au plus {MAX_NAME_LENGTH} caractères.",
    "mobile_missing": "Saisissez votre numéro de téléphone portable.",
    "mobile_invalid": "Saisissez un numéro de téléphone portable français de "
    "10 chiffres commençant par 06 ou 07, par exemple 06 12 34 56 78.",
    "control_character": "Ce champ contient un caractère invisible qui n'est pas "
    "accepté (caractère de contrôle, souvent ajouté par un copier-coller). "
    "Saisissez-le de nouveau au clavier.",
    "too_many_requests": "Trop de codes ont été demandés pour ce numéro ou depuis "
    "votre connexion. Réessayez dans une heure.",
    "code_missing": "Saisissez le code à 6 chiffres reçu par SMS.",
    "code_void": "Ce code n'est plus valable : il a expiré, a déjà servi ou a "
    "été saisi trop de fois de façon erronée. Demandez un nouveau code.",
}


def _code_wrong(attempts_left: int) -> str:
    plural = "s" if attempts_left > 1 else ""
    return (
        f"Le code saisi n'est pas le bon. Il vous reste {attempts_left} essai{plural}."
    )


def _name_error(value: str, missing: str) -> str | None:
    if has_control_character(value):
        return MESSAGES["control_character"]
    if not value:
        return MESSAGES[missing]
    if len(value) > MAX_NAME_LENGTH:
        return MESSAGES["name_long"]
    return None


def _form_errors(nom: str, prenom: str, mobile: str) -> dict[str, str]:
    errors = {}
    if message := _name_error(nom, "nom_missing"):
        errors["nom"] = message
    if message := _name_error(prenom, "prenom_missing"):
        errors["prenom"] = message
    if has_control_character(mobile):
        errors["mobile"] = MESSAGES["control_character"]
    elif not mobile:
        errors["mobile"] = MESSAGES["mobile_missing"]
    elif not is_mobile_key(phone_key(mobile)):
        errors["mobile"] = MESSAGES["mobile_invalid"]
    return errors


def _creation_form(request, values: dict[str, str], errors, status_code=200):
    return _render(
        request,
        "creation.html",
        {"values": values, "errors": errors},
        status_code=status_code,
    )


@router.get(CREATION_PAGE)
async def creation_page(request: Request) -> Response:
    """Show the form asking for nom, prénom and mobile phone number."""
    return _creation_form(request, {"nom": "", "prenom": "", "mobile": ""}, {})


@router.post(CREATION_PAGE)
async def request_code(
    request: Request,
    pool: Pool,
    settings: AppSettings,
    session: CurrentSession,
    nom: Annotated[str, Form()] = "",
    prenom: Annotated[str, Form()] = "",
    mobile: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Send a one-time code by SMS when responsable records have this name and
    mobile number. The page that follows is the same whether any matched, so
    it does not reveal who is known to the schools. Requests are throttled per
    number and per client address. Emits ``MobileCodeRequested``."""
    _check_csrf(session, csrf_token)
    values = {"nom": nom.strip(), "prenom": prenom.strip(), "mobile": mobile.strip()}
    errors = _form_errors(**values)
    if errors:
        logger.info("code_request_rejected", fields=sorted(errors))
        return _creation_form(request, values, errors, status_code=422)

    mobile_key = phone_key(values["mobile"])
    address = request.client.host if request.client else "inconnue"
    async with pool.acquire() as connection, connection.transaction():
        allowed = await creation.count_request(
            connection, mobile_key=mobile_key, address=address
        )
        if allowed:
            records = await creation.matching_records(
                connection,
                nom=values["nom"],
                prenom=values["prenom"],
                mobile_key=mobile_key,
            )
            code_id = await creation.send_code(
                connection,
                secret_key=settings.secret_key,
                nom=values["nom"],
                prenom=values["prenom"],
                mobile_key=mobile_key,
                records=records,
                validity=timedelta(minutes=settings.creation_code_minutes),
            )
    if not allowed:
        logger.warning("code_request_throttled")
        errors = {"mobile": MESSAGES["too_many_requests"]}
        return _creation_form(request, values, errors, status_code=429)

    logger.info("code_requested", code_id=str(code_id), records=len(records))
    session.data[CODE_KEY] = {"id": str(code_id), "mobile": mobile_key[-2:]}
    return _redirect(CODE_PAGE)


def _code_form(request, pending, errors, status_code=200):
    return _render(
        request,
        "creation_code.html",
        {
            "mobile_end": pending["mobile"],
            "validity_minutes": request.app.state.settings.creation_code_minutes,
            "errors": errors,
        },
        status_code=status_code,
    )


@router.get(CODE_PAGE)
async def code_page(request: Request, session: CurrentSession) -> Response:
    """Show the field for the code sent by SMS."""
    pending = session.data.get(CODE_KEY)
    if pending is None:
        return _redirect(CREATION_PAGE)
    return _code_form(request, pending, {})


@router.post(CODE_PAGE)
async def check_code(
    request: Request,
    pool: Pool,
    settings: AppSettings,
    session: CurrentSession,
    code: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the code. A right one creates the account holding the matched
    records and logs the parent in to activate it; when an activated account
    already holds one of them, the page leads to login or password reset."""
    _check_csrf(session, csrf_token)
    pending = session.data.get(CODE_KEY)
    if pending is None:
        return _redirect(CREATION_PAGE)
    typed = "".join(code.split())
    if not typed:
        return _code_form(request, pending, {"code": MESSAGES["code_missing"]}, 422)

    code_id = uuid.UUID(pending["id"])
    async with pool.acquire() as connection, connection.transaction():
        outcome = await creation.use_code(
            connection,
            secret_key=settings.secret_key,
            account_id=code_id,
            code=typed[:16],
        )
    logger.info("creation_code_checked", code_id=str(code_id), outcome=outcome.check)

    if outcome.check is CodeCheck.WRONG:
        errors = {"code": _code_wrong(outcome.attempts_left)}
        return _code_form(request, pending, errors, 422)
    session.data.pop(CODE_KEY)
    if outcome.check is CodeCheck.VOID:
        return _render(
            request,
            "creation_code_void.html",
            {"message": MESSAGES["code_void"]},
            status_code=422,
        )
    if outcome.check is CodeCheck.ALREADY_ACTIVATED:
        return _render(request, "creation_existing.html", {})

    logger.info("account_created_with_code", account_id=str(code_id))
    request.state.session = await sessions.renew(
        pool, session, settings.session_minutes, code_id
    )
    request.state.session.data[CREATED_KEY] = outcome.identifiant
    return _redirect(CREATED_PAGE)


@router.get(CREATED_PAGE)
async def created_page(request: Request, session: CurrentSession) -> Response:
    """Show the new account's identifiant, to note before activating."""
    identifiant = session.data.get(CREATED_KEY)
    if identifiant is None or session.account_id is None:
        return _redirect("/connexion")
    return _render(request, "creation_done.html", {"identifiant": identifiant})
