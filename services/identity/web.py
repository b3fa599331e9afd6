"""The front door's pages: login, *Activation du compte*, the confirmation of
refused children, and the portal."""

import hmac
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from services.identity import accounts, catalogue, passwords, sessions, throttle
from services.identity.errors import LinkNotOwned, LinksUnavailable
from services.identity.forms import ActivationForm, rejected_decision_errors
from services.identity.links_client import Link, LinksClient
from services.identity.settings import Settings
from shared.logging import get_logger

logger = get_logger(__name__)

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def de_prenom(prenom: str) -> str:
    """Return « de Hugo » or, before a vowel, « d'Awa », as French elides it.
    A first name starting with h gets « de »: whether its h is silent cannot
    be known from the spelling."""
    first = prenom[:1].casefold()
    if first and first in "aeiouyàâäéèêëîïôöùûüÿæœ":
        return f"d'{prenom}"
    return f"de {prenom}"


templates.env.filters["de_prenom"] = de_prenom
router = APIRouter()

LOGIN_FAILED = "Identifiant ou mot de passe incorrect."
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
    context = {"csrf_token": request.state.session.csrf_token, **context}
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
    """Log in with an identifiant and the account's password, or its notice's
    provisional password before activation. The response is the same whether
    the identifiant exists or not."""
    _check_csrf(session, csrf_token)
    address = request.client.host if request.client else "inconnue"
    keys = {
        throttle.identifiant_key(identifiant): throttle.IDENTIFIANT_LIMITS,
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
        wait = await throttle.wait_before_login(connection, keys)
        account = None
        if not wait:
            account = await _check_credentials(
                connection, settings, identifiant, password
            )
            if account is None:
                await throttle.record_failure(connection, list(keys))
    if wait:
        logger.warning("login_throttled", wait_seconds=int(wait.total_seconds()))
        return _render(
            request,
            "connexion.html",
            {"identifiant": identifiant, "error": throttle.wait_message(wait)},
            status_code=429,
        )
    if account is None:
        return _render(
            request,
            "connexion.html",
            {"identifiant": identifiant, "error": LOGIN_FAILED},
            status_code=401,
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
    if account["activated_at"] is None:
        return _redirect("/activation")
    if next_page := request.state.session.data.pop(NEXT_PAGE_KEY, None):
        return _redirect(next_page)
    pending = await _links_to_decide(_links(request), account["responsable_ids"])
    return _redirect(ACTIONS_PAGE if pending else "/portail")


async def _check_credentials(
    connection: asyncpg.Connection,
    settings: Settings,
    identifiant: str,
    password: str,
):
    """Return the account when the password (or, before activation, the
    notice's provisional password) matches, else None. An unknown identifiant
    and an account not yet activated cost one argon2 verification too, so the
    time taken reveals neither. An empty identifiant is never looked up."""
    account = None
    if identifiant.strip():
        account = await accounts.find_by_identifiant(connection, identifiant)
    # argon2 takes tens of milliseconds of CPU, so it runs in a worker thread
    # instead of holding up every other request of the event loop.
    if account is None:
        await run_in_threadpool(passwords.spend_verification_time, password)
        logger.info("login_failed", account_id=None)
        return None
    if account["activated_at"] is None:
        await run_in_threadpool(passwords.spend_verification_time, password)
        ok = passwords.check_provisional_password(
            settings.notice_secret, account["account_id"], password
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

    async with pool.acquire() as connection:
        await accounts.activate(
            connection,
            account["account_id"],
            email=form.email,
            password_hash=pending["password_hash"],
        )
    logger.info("account_activated", account_id=str(account["account_id"]))
    return _redirect("/portail")


@router.get("/portail")
async def portal(
    request: Request, pool: Pool, links: Links, session: CurrentSession
) -> Response:
    """Show the children whose links the parent confirmed, each with the
    téléservices of its level."""
    account = await _current_account(pool, session)
    if account is None:
        return _redirect("/connexion")
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


def register_error_pages(app) -> None:
    """Render a French page for a CSRF failure or an unavailable links service
    instead of a stack trace."""

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
