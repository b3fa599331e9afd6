"""The front door's pages: login, *Activation du compte*, the confirmation of
refused children, the pupils' activation, and the portal."""

import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.identity import (
    account_kinds,
    accounts,
    catalogue,
    passwords,
    pupils,
    sessions,
    throttle,
)
from services.identity.errors import LinkNotOwned, LinksUnavailable
from services.identity.forms import (
    MESSAGES,
    ActivationForm,
    new_password_errors,
    rejected_decision_errors,
)
from services.identity.links_client import Link, LinksClient
from services.identity.messages import request_message
from services.identity.reasons import proposal_reason
from services.identity.settings import Settings
from shared.contracts.account_messages import AccountActivated
from shared.logging import get_logger
from shared.names import email_key

logger = get_logger(__name__)

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


_VOWELS = "aeiouyàâäéèêëîïôöùûüÿæœ"


def de_prenom(prenom: str) -> str:
    """Return « de Hugo » or, before a vowel, « d'Awa », as French elides it.
    A first name starting with h gets « de »: whether its h is silent cannot
    be known from the spelling. A y before a vowel is a consonant (« de
    Yanis »), before a consonant a vowel (« d'Yves »)."""
    first, second = prenom[:1].casefold(), prenom[1:2].casefold()
    if first == "y" and second in _VOWELS:
        return f"de {prenom}"
    if first and first in _VOWELS:
        return f"d'{prenom}"
    return f"de {prenom}"


templates.env.filters["de_prenom"] = de_prenom
templates.env.globals["proposal_reason"] = proposal_reason
# Pupils and staff who open a link screen of this router go to their own home.
router = APIRouter(dependencies=[Depends(account_kinds.keep_to_own_pages)])

LOGIN_FAILED = "Identifiant ou mot de passe incorrect."
ACCOUNT_DISABLED = (
    "Ce compte a été désactivé et ne permet plus de se connecter. Si vous pensez "
    "qu'il s'agit d'une erreur, contactez l'école ou l'établissement scolaire."
)
ACCOUNT_GROUPED = (
    "Les enfants de ce compte ont été regroupés dans un autre de vos comptes. "
    "Connectez-vous avec l'identifiant de celui-ci ; en cas d'oubli, utilisez "
    "« Mot de passe oublié »."
)
FORM_EXPIRED = "Le formulaire a expiré. Merci de recommencer."
PENDING_KEY = "activation_pending"
KEPT_FORM_KEY = "activation_form"
ACTIONS_PAGE = "/actions-compte"
# A téléservice's return address, and the page to show after login, survive
# the session renewal at login.
RETURN_KEY = "teleservice_return"
NEXT_PAGE_KEY = "next_page"
KEPT_AT_LOGIN = (RETURN_KEY, NEXT_PAGE_KEY)


class CsrfRejected(Exception):
    """A form was posted without this session's CSRF token."""


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def _links(request: Request) -> LinksClient:
    return request.app.state.links


def _session(request: Request) -> sessions.Session:
    return request.state.session


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Links = Annotated[LinksClient, Depends(_links)]
CurrentSession = Annotated[sessions.Session, Depends(_session)]
AppSettings = Annotated[Settings, Depends(_settings)]


def _check_csrf(session: sessions.Session, token: str) -> None:
    if not hmac.compare_digest(session.csrf_token.encode(), token.encode()):
        raise CsrfRejected()


def _render(
    request: Request, template: str, context: dict, status_code: int = 200
) -> HTMLResponse:
    context = {
        "csrf_token": request.state.session.csrf_token,
        "signed_in": request.state.session.account_id is not None,
        **context,
    }
    return templates.TemplateResponse(
        request, template, context, status_code=status_code
    )


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def _current_account(pool: asyncpg.Pool, session: sessions.Session):
    if session.account_id is None:
        return None
    async with pool.acquire() as connection:
        return await accounts.get_account(connection, session.account_id)


@router.get("/", include_in_schema=False)
async def home(session: CurrentSession) -> Response:
    """Send the visitor to the portal when logged in, else to the login page."""
    return _redirect("/portail" if session.account_id else "/connexion")


@router.get("/connexion")
async def login_page(request: Request) -> Response:
    """Show the login form."""
    return _render(request, "connexion.html", {"identifiant": "", "error": None})


@router.post("/connexion")
async def login(
    request: Request,
    pool: Pool,
    settings: AppSettings,
    session: CurrentSession,
    identifiant: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Log in with an identifiant, or the e-mail address of an activated
    account, and the account's password, or its notice's provisional password
    before activation. The response is the same whether the identifiant
    exists or not. An identifiant held back by its failures locks its account
    (``accounts.locked_until``) for as long."""
    _check_csrf(session, csrf_token)
    address = request.client.host if request.client else "inconnue"
    login_key = throttle.identifiant_key(identifiant)
    keys = {
        login_key: throttle.IDENTIFIANT_LIMITS,
        throttle.address_key(address): throttle.ADDRESS_LIMITS,
    }
    if not throttle.is_plausible_identifiant(identifiant):
        # Counted under its own key above, but never looked up or shown back.
        identifiant = ""

    # The throttle is checked before any hash is computed, so that held-back
    # attempts cost nothing and tell nothing. Both keys stay locked until the
    # failure is counted.
    # NOTE: logins from one address therefore run one at a time, each for one
    # argon2 verification; a school's shared address could queue at peak
    # hours. Counting attempts in progress instead of locking would lift it.
    async with pool.acquire() as connection, connection.transaction():
        await throttle.lock_keys(connection, list(keys))
        waits = await throttle.waits_before_login(connection, keys)
        account = None
        if not any(waits.values()):
            account = await _check_credentials(
                connection, settings, identifiant, password
            )
            if account is None:
                await _record_login_failure(connection, keys, login_key, identifiant)
    if wait := max(waits.values()):
        logger.warning("login_throttled", wait_seconds=int(wait.total_seconds()))
        # An identifiant held back gets the message of a locked account,
        # whether an account has it or not.
        message = throttle.wait_message(wait)
        if waits[login_key] == wait:
            message = throttle.lock_message(wait)
        return _render(
            request,
            "connexion.html",
            {"identifiant": identifiant, "error": message},
            status_code=429,
        )
    if account is None:
        return _render(
            request,
            "connexion.html",
            {"identifiant": identifiant, "error": LOGIN_FAILED},
            status_code=401,
        )
    if refusal := _login_refusal(account):
        message, status_code = refusal
        logger.info("login_refused", account_id=str(account["account_id"]))
        return _render(
            request,
            "connexion.html",
            {"identifiant": identifiant, "error": message},
            status_code=status_code,
        )

    async with pool.acquire() as connection:
        await throttle.forget_failures(
            connection, throttle.identifiant_key(identifiant)
        )
        if account["activated_at"] is not None and passwords.needs_rehash(
            account["password_hash"]
        ):
            await accounts.replace_password_hash(
                connection, account["account_id"], passwords.hash_password(password)
            )
    carried_over = {
        key: session.data[key] for key in KEPT_AT_LOGIN if key in session.data
    }
    request.state.session = await sessions.renew(
        pool, session, settings.session_minutes, account["account_id"]
    )
    request.state.session.data.update(carried_over)
    logger.info("login_succeeded", account_id=str(account["account_id"]))
    if account["kind"] != "responsable":
        home = account_kinds.home_page(
            account["kind"], account["activated_at"] is not None
        )
        if home == account_kinds.PORTAL:
            home = request.state.session.data.pop(NEXT_PAGE_KEY, home)
        return _redirect(home)
    if account["activated_at"] is None:
        return _redirect("/activation")
    if next_page := request.state.session.data.pop(NEXT_PAGE_KEY, None):
        return _redirect(next_page)
    pending = await _links_to_decide(_links(request), account["responsable_ids"])
    return _redirect(ACTIONS_PAGE if pending else "/portail")


async def _record_login_failure(
    connection: asyncpg.Connection, keys: dict, login_key: str, identifiant: str
) -> None:
    """Count a failed login, and lock the account of ``identifiant`` (an
    identifiant or an e-mail address, whose throttle key is ``login_key``)
    for as long as the failures now hold it back."""
    await throttle.record_failure(connection, list(keys))
    wait = await throttle.wait_before_login(
        connection, {login_key: throttle.IDENTIFIANT_LIMITS}
    )
    if wait and identifiant.strip():
        await accounts.lock_login(connection, identifiant, datetime.now(UTC) + wait)


def _login_refusal(account) -> tuple[str, int] | None:
    """Return the message and status that keep an account from logging in,
    or None when it may log in. A lock set by wrong passwords under its
    other login (identifiant or e-mail) applies whatever password was typed.
    Once the password matched, an account is also kept out when an
    administrator disabled it, or when another account took its responsable
    record (account creation or grouping)."""
    locked_until = account["locked_until"]
    now = datetime.now(UTC)
    if locked_until is not None and locked_until > now:
        return throttle.lock_message(locked_until - now), 429
    if account["disabled_at"] is not None:
        return ACCOUNT_DISABLED, 403
    if account["responsable_id"] is not None and not account["responsable_ids"]:
        return ACCOUNT_GROUPED, 403
    return None


async def _check_credentials(
    connection: asyncpg.Connection,
    settings: Settings,
    identifiant: str,
    password: str,
):
    """Return the account when the password (or, before activation, the
    notice's provisional password) matches, else None. A locked account is
    returned without its password being checked, so that the page shows the
    lock message whatever was typed and guesses learn nothing. An unknown
    identifiant and an account not yet activated cost one argon2 verification
    too, so the time taken reveals neither. An empty identifiant is never
    looked up."""
    account = None
    if identifiant.strip():
        account = await accounts.find_by_login(connection, identifiant)
    # argon2 takes tens of milliseconds of CPU, so it runs in a worker thread
    # instead of holding up every other request of the event loop.
    if account is None:
        await run_in_threadpool(passwords.spend_verification_time, password)
        logger.info("login_failed", account_id=None)
        return None
    locked_until = account["locked_until"]
    if locked_until is not None and locked_until > datetime.now(UTC):
        await run_in_threadpool(passwords.spend_verification_time, password)
        return account
    if account["activated_at"] is None:
        await run_in_threadpool(passwords.spend_verification_time, password)
        ok = passwords.check_provisional_password(
            settings.notice_secret,
            account["account_id"],
            password,
            account["notice_version"],
        )
    else:
        ok = await run_in_threadpool(
            passwords.verify_password, account["password_hash"], password
        )
    if not ok:
        logger.info("login_failed", account_id=str(account["account_id"]))
        return None
    return account


@router.post("/deconnexion")
async def logout(
    request: Request,
    pool: Pool,
    session: CurrentSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """End the session."""
    _check_csrf(session, csrf_token)
    await sessions.destroy(pool, session)
    request.state.session = None
    return _redirect("/connexion")


async def _links_to_decide(
    links: LinksClient, responsable_ids: Sequence[str]
) -> list[Link]:
    return [
        link for link in await links.links(responsable_ids) if link.state != "confirmed"
    ]


@router.get("/activation")
async def activation_page(
    request: Request, pool: Pool, links: Links, session: CurrentSession
) -> Response:
    """Show the *Activation du compte* form, filled with what the parent typed
    when they come back from the confirmation screen."""
    account = await _current_account(pool, session)
    if account is None:
        return _redirect("/connexion")
    if account["activated_at"] is not None:
        return _redirect("/portail")

    every_link = await links.links(account["responsable_ids"])
    children = _not_confirmed(every_link)
    kept = session.data.pop(KEPT_FORM_KEY, None)
    form = ActivationForm.from_data(kept) if kept else ActivationForm.blank(children)
    return _activation_form(request, account, every_link, form, {})


def _not_confirmed(every_link: list[Link]) -> list[Link]:
    return [link for link in every_link if link.state != "confirmed"]


def _has_confirmed(every_link: list[Link]) -> bool:
    return any(link.state == "confirmed" for link in every_link)


def _activation_form(
    request: Request,
    account,
    every_link: list[Link],
    form: ActivationForm,
    errors: dict[str, str],
) -> HTMLResponse:
    return _render(
        request,
        "activation.html",
        {
            "account": account,
            "children": _not_confirmed(every_link),
            "confirmed": [link for link in every_link if link.state == "confirmed"],
            "form": form,
            "errors": errors,
            "min_password_length": passwords.MIN_PASSWORD_LENGTH,
        },
        status_code=422 if errors else 200,
    )


@router.post("/activation")
async def activate(
    request: Request,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    password: Annotated[str, Form()] = "",
    password_confirmation: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the activation form. Nothing is stored while any field is wrong.
    When every child is confirmed the account is activated at once; when some
    are refused, the confirmation screen lists them first."""
    _check_csrf(session, csrf_token)
    account = await _current_account(pool, session)
    if account is None:
        return _redirect("/connexion")
    if account["activated_at"] is not None:
        return _redirect("/portail")

    every_link = await links.links(account["responsable_ids"])
    form = ActivationForm.read(await request.form(), _not_confirmed(every_link))
    errors = form.errors(
        password,
        password_confirmation,
        [account["identifiant"], account["nom"], account["prenom"]],
        has_confirmed_child=_has_confirmed(every_link),
    )
    if not errors.keys() & {"email", "email_confirmation"}:
        async with pool.acquire() as connection:
            if await accounts.email_taken(
                connection, form.email, account["account_id"]
            ):
                errors["email"] = MESSAGES["email_taken"]
    if not errors and form.choices():
        rejected = await links.decide_all(
            every_link, form.choices(), screen="activation", dry_run=True
        )
        errors = rejected_decision_errors(rejected)
    if errors:
        logger.info(
            "activation_rejected",
            account_id=str(account["account_id"]),
            fields=sorted(errors),
        )
        return _activation_form(request, account, every_link, form, errors)

    session.data[PENDING_KEY] = {
        "form": form.to_data(),
        "password_hash": await run_in_threadpool(passwords.hash_password, password),
    }
    if any(answer.choice == "non" for answer in form.answers.values()):
        return _redirect("/activation/confirmation")
    return await _finish_activation(request, pool, links, session, account, every_link)


@router.get("/activation/confirmation")
async def refusal_confirmation_page(
    request: Request, pool: Pool, links: Links, session: CurrentSession
) -> Response:
    """List the children the parent is about to refuse, with *Valider* and
    *Annuler*."""
    account = await _current_account(pool, session)
    pending = session.data.get(PENDING_KEY)
    if account is None or pending is None or account["activated_at"] is not None:
        return _redirect("/activation")

    form = ActivationForm.from_data(pending["form"])
    children = _not_confirmed(await links.links(account["responsable_ids"]))
    refused = [
        child
        for child in children
        if form.answers.get(child.link_id)
        and form.answers[child.link_id].choice == "non"
    ]
    return _render(
        request,
        "confirmation_refus.html",
        {"refused": refused, "confirm_action": "/activation/confirmation"},
    )


@router.post("/activation/confirmation")
async def confirm_refusals(
    request: Request,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    action: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """*Valider* activates the account with the refusals; *Annuler* goes back
    to the form with what was typed, except the passwords."""
    _check_csrf(session, csrf_token)
    account = await _current_account(pool, session)
    pending = session.data.get(PENDING_KEY)
    if account is None or pending is None or account["activated_at"] is not None:
        return _redirect("/activation")

    if action != "valider":
        session.data.pop(PENDING_KEY)
        session.data[KEPT_FORM_KEY] = pending["form"]
        return _redirect("/activation")
    every_link = await links.links(account["responsable_ids"])
    return await _finish_activation(request, pool, links, session, account, every_link)


async def _finish_activation(
    request: Request,
    pool: asyncpg.Pool,
    links: LinksClient,
    session: sessions.Session,
    account,
    every_link: list[Link],
) -> Response:
    pending = session.data.pop(PENDING_KEY)
    form = ActivationForm.from_data(pending["form"])

    # The links service applies every decision or none. If the account update
    # below then failed, the parent would log in again with the provisional
    # password and find those links already decided. The form then lists only
    # the children still to decide, and a child already confirmed counts as
    # the « Oui » that activation needs, so e-mail and password finish it.
    if choices := form.choices():
        rejected = await links.decide_all(
            every_link, choices, screen="activation", dry_run=False
        )
        if rejected:
            errors = rejected_decision_errors(rejected)
            return _activation_form(request, account, every_link, form, errors)

    # The unique index on accounts.email settles a race with another account
    # taking the address since the form was checked.
    try:
        async with pool.acquire() as connection, connection.transaction():
            if await accounts.activate(
                connection,
                account["account_id"],
                email=form.email,
                password_hash=pending["password_hash"],
            ):
                await request_message(
                    connection,
                    AccountActivated(
                        account_id=str(account["account_id"]),
                        email=email_key(form.email),
                        display_name=accounts.display_name(account),
                        occurred_at=datetime.now(UTC),
                        login=account["identifiant"],
                    ),
                )
    except asyncpg.UniqueViolationError:
        every_link = await links.links(account["responsable_ids"])
        errors = {"email": MESSAGES["email_taken"]}
        return _activation_form(request, account, every_link, form, errors)
    logger.info("account_activated", account_id=str(account["account_id"]))
    return _redirect("/portail")


@router.get("/portail")
async def portal(
    request: Request, pool: Pool, links: Links, session: CurrentSession
) -> Response:
    """Show the children whose links the parent confirmed, each with the
    téléservices of its level. A pupil's portal shows its own school and
    services instead."""
    account = await _current_account(pool, session)
    if account is None:
        return _redirect("/connexion")
    if account["kind"] != "responsable":
        home = account_kinds.home_page(
            account["kind"], account["activated_at"] is not None
        )
        if home != account_kinds.PORTAL:
            return _redirect(home)
        return await _pupil_portal(request, pool, account)
    if account["activated_at"] is None:
        return _redirect("/activation")

    every_link = await links.links(account["responsable_ids"])
    children = [link for link in every_link if link.state == "confirmed"]
    return _render(
        request,
        "portail.html",
        {
            "account": account,
            "children": children,
            "has_actions": len(children) < len(every_link),
            "services_for": catalogue.services_for,
        },
    )


async def _pupil_portal(request: Request, pool: asyncpg.Pool, account) -> Response:
    async with pool.acquire() as connection:
        school = await pupils.school_of(connection, account["account_id"])
    services = ()
    if school is not None and not school.removed:
        services = catalogue.services_for(school.source, public="eleve")
    return _render(
        request,
        "portail_eleve.html",
        {"account": account, "school": school, "services": services},
    )


async def _pupil_account(pool: asyncpg.Pool, session: sessions.Session):
    """Return the session's pupil account not yet activated, or the page to
    go to instead."""
    account = await _current_account(pool, session)
    if account is None:
        return None, _redirect("/connexion")
    activated = account["activated_at"] is not None
    if account["kind"] != "eleve" or activated:
        return None, _redirect(account_kinds.home_page(account["kind"], activated))
    return account, None


@router.get(account_kinds.PUPIL_ACTIVATION)
async def pupil_activation_page(
    request: Request, pool: Pool, session: CurrentSession
) -> Response:
    """Show the pupils' activation form: a new password typed twice."""
    account, elsewhere = await _pupil_account(pool, session)
    if account is None:
        return elsewhere
    return _pupil_activation_form(request, account, {})


def _pupil_activation_form(
    request: Request, account, errors: dict[str, str]
) -> HTMLResponse:
    return _render(
        request,
        "activation_eleve.html",
        {
            "account": account,
            "errors": errors,
            "min_password_length": passwords.MIN_PASSWORD_LENGTH,
        },
        status_code=422 if errors else 200,
    )


@router.post(account_kinds.PUPIL_ACTIVATION)
async def activate_pupil(
    request: Request,
    pool: Pool,
    session: CurrentSession,
    password: Annotated[str, Form()] = "",
    password_confirmation: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the new password and activate the pupil's account, then show the
    portal, or *Mon compte* when a téléservice sent the pupil there."""
    _check_csrf(session, csrf_token)
    account, elsewhere = await _pupil_account(pool, session)
    if account is None:
        return elsewhere

    errors = new_password_errors(
        password,
        password_confirmation,
        [account["identifiant"], account["nom"], account["prenom"]],
    )
    if errors:
        logger.info(
            "pupil_activation_rejected",
            account_id=str(account["account_id"]),
            fields=sorted(errors),
        )
        return _pupil_activation_form(request, account, errors)

    password_hash = await run_in_threadpool(passwords.hash_password, password)
    async with pool.acquire() as connection:
        await pupils.activate_pupil_account(
            connection, account["account_id"], password_hash
        )
    logger.info("pupil_account_activated", account_id=str(account["account_id"]))
    return _redirect(session.data.pop(NEXT_PAGE_KEY, account_kinds.PORTAL))


def register_error_pages(app) -> None:
    """Render a French page for a CSRF failure or an unavailable links service
    instead of a stack trace, and send pupils and staff away from the link
    screens."""

    @app.exception_handler(account_kinds.OtherKindsPage)
    async def other_kinds_page(
        request: Request, exc: account_kinds.OtherKindsPage
    ) -> Response:
        logger.info("responsable_page_refused", path=request.url.path)
        return _redirect(exc.home)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        logger.warning("csrf_rejected", path=request.url.path)
        session = request.state.session
        if session.is_new:
            # A form posted without the session cookie, as from another site,
            # got a session of its own. Its cookie must not replace the
            # browser's, which may open a live session.
            await sessions.destroy(_pool(request), session)
            request.state.keep_cookie = True
        return _render(
            request, "erreur.html", {"message": FORM_EXPIRED}, status_code=403
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Render a French page for an unknown address or a form address
        opened as a page, instead of the framework's JSON."""
        if exc.status_code == 405:
            message = (
                "Cette adresse ne s'ouvre pas directement. "
                "Revenez à la page précédente pour recommencer."
            )
        elif exc.status_code == 404:
            message = "Cette page n'existe pas."
        else:
            message = "La demande n'a pas pu être traitée."
        if getattr(request.state, "session", None) is None:
            # Static files and probes run without a session.
            return PlainTextResponse(message, status_code=exc.status_code)
        response = _render(
            request, "erreur.html", {"message": message}, status_code=exc.status_code
        )
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(
        request: Request, exc: RequestValidationError
    ) -> Response:
        """Render a French page for an address or form value that the pages
        never send (a malformed id, an overlong parameter), instead of
        pydantic's English JSON, which would echo the value."""
        logger.info(
            "request_rejected",
            path=request.url.path,
            fields=sorted({".".join(map(str, error["loc"])) for error in exc.errors()}),
        )
        return _render(
            request,
            "erreur.html",
            {
                "message": "La demande contient une valeur non valable. "
                "Revenez à la page précédente pour recommencer."
            },
            status_code=400,
        )

    @app.exception_handler(LinksUnavailable)
    async def links_unavailable(request: Request, exc: LinksUnavailable) -> Response:
        return _render(
            request,
            "erreur.html",
            {
                "message": "Le service est momentanément indisponible. "
                "Merci de réessayer dans quelques minutes."
            },
            status_code=503,
        )

    @app.exception_handler(LinkNotOwned)
    async def link_not_owned(request: Request, exc: LinkNotOwned) -> Response:
        logger.warning("link_not_owned", path=request.url.path)
        return _render(
            request,
            "erreur.html",
            {"message": "Cet élève n'est pas rattaché à votre compte."},
            status_code=404,
        )
