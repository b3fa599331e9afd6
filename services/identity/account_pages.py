"""Pages of a logged-in parent after activation: the *page intermédiaire*
with its *Ajout d'enfants* form, and *Mon compte* (*Mes informations* and
*Mes enfants*)."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from services.identity import (
    account_kinds,
    accounts,
    catalogue,
    passwords,
    sessions,
    throttle,
)
from services.identity.errors import LinkNotOwned
from services.identity.forms import (
    MESSAGES,
    ChildrenForm,
    decision_message,
    new_password_errors,
    rejected_decision_errors,
)
from services.identity.links_client import Choice, Link
from services.identity.web import (
    ACTIONS_PAGE,
    NEXT_PAGE_KEY,
    RETURN_KEY,
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

logger = get_logger(__name__)
# Pupils and staff who open a link screen of this router go to their own home.
router = APIRouter(dependencies=[Depends(account_kinds.keep_to_own_pages)])

CHILDREN_PAGE = ACTIONS_PAGE + "/enfants"
CHILDREN_CONFIRMATION = ACTIONS_PAGE + "/confirmation"
ACCOUNT_PAGE = "/mon-compte"
ACCOUNT_REFUSAL_CONFIRMATION = ACCOUNT_PAGE + "/enfants/confirmation"
CHILDREN_PENDING_KEY = "children_pending"
CHILDREN_KEPT_KEY = "children_form"
ACCOUNT_REFUSAL_KEY = "account_refusal"
FLASH_KEY = "flash"


async def _activated_account(pool, session):
    account = await _current_account(pool, session)
    if account is None or account["activated_at"] is None:
        return None
    return account


def _login_or_activation(session) -> Response:
    return _redirect("/activation" if session.account_id else "/connexion")


@router.get(ACTIONS_PAGE)
async def actions_page(
    request: Request, pool: Pool, links: Links, session: CurrentSession
) -> Response:
    """Show « Nous avons identifié des actions à effectuer sur votre compte »
    with *Ajout d'enfants* while a link is not confirmed, and *Ignorer*."""
    account = await _activated_account(pool, session)
    if account is None:
        return _login_or_activation(session)
    pending = await _links_to_decide(links, account["responsable_ids"])
    return _render(
        request,
        "page_intermediaire.html",
        {
            "account": account,
            "pending": pending,
            "flash": session.data.pop(FLASH_KEY, None),
        },
    )


@router.get(CHILDREN_PAGE)
async def children_page(
    request: Request, pool: Pool, links: Links, session: CurrentSession
) -> Response:
    """Show the *Ajout d'enfants* form: Oui or Non for each child not yet
    confirmed, with why the child is proposed."""
    account = await _activated_account(pool, session)
    if account is None:
        return _login_or_activation(session)
    children = await _links_to_decide(links, account["responsable_ids"])
    if not children:
        return _redirect(ACTIONS_PAGE)
    kept = session.data.pop(CHILDREN_KEPT_KEY, None)
    form = ChildrenForm.from_data(kept) if kept else ChildrenForm.blank(children)
    return _children_form(request, children, form, {}, account)


def _children_form(request, children, form, errors, account) -> Response:
    return _render(
        request,
        "ajout_enfants.html",
        {"children": children, "form": form, "errors": errors, "account": account},
        status_code=422 if errors else 200,
    )


@router.post(CHILDREN_PAGE)
async def decide_children(
    request: Request,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the choices; nothing is applied while a birth date is missing or
    wrong. Refusals go through the confirmation screen first."""
    _check_csrf(session, csrf_token)
    account = await _activated_account(pool, session)
    if account is None:
        return _login_or_activation(session)
    children = await _links_to_decide(links, account["responsable_ids"])
    form = ChildrenForm.read(await request.form(), children)
    errors = form.errors()
    changes = form.changes(children)
    if not errors and changes:
        rejected = await links.decide_all(
            children,
            changes,
            screen="page_intermediaire",
            dry_run=True,
        )
        errors = rejected_decision_errors(rejected)
    if errors:
        logger.info(
            "children_choices_rejected",
            account_id=str(account["account_id"]),
            fields=sorted(errors),
        )
        return _children_form(request, children, form, errors, account)
    if not changes:
        return _redirect(ACTIONS_PAGE)

    session.data[CHILDREN_PENDING_KEY] = form.to_data()
    if any(change.decision == "refuse" for change in changes):
        return _redirect(CHILDREN_CONFIRMATION)
    return await _apply_children_choices(request, links, session, account, children)


@router.get(CHILDREN_CONFIRMATION)
async def children_confirmation_page(
    request: Request, pool: Pool, links: Links, session: CurrentSession
) -> Response:
    """List the children about to be refused, with *Valider* and *Annuler*."""
    account = await _activated_account(pool, session)
    pending = session.data.get(CHILDREN_PENDING_KEY)
    if account is None or pending is None:
        return _redirect(ACTIONS_PAGE)
    children = await _links_to_decide(links, account["responsable_ids"])
    refusing = {
        change.link_id
        for change in ChildrenForm.from_data(pending).changes(children)
        if change.decision == "refuse"
    }
    refused = [child for child in children if child.link_id in refusing]
    return _render(
        request,
        "confirmation_refus.html",
        {"refused": refused, "confirm_action": CHILDREN_CONFIRMATION},
    )


@router.post(CHILDREN_CONFIRMATION)
async def confirm_children_refusals(
    request: Request,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    action: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """*Valider* applies every choice of the form; *Annuler* goes back to the
    form as it was typed."""
    _check_csrf(session, csrf_token)
    account = await _activated_account(pool, session)
    if account is None or CHILDREN_PENDING_KEY not in session.data:
        return _redirect(ACTIONS_PAGE)
    if action != "valider":
        session.data[CHILDREN_KEPT_KEY] = session.data.pop(CHILDREN_PENDING_KEY)
        return _redirect(CHILDREN_PAGE)
    children = await _links_to_decide(links, account["responsable_ids"])
    return await _apply_children_choices(request, links, session, account, children)


async def _apply_children_choices(
    request: Request, links, session, account, children: list[Link]
) -> Response:
    form = ChildrenForm.from_data(session.data.pop(CHILDREN_PENDING_KEY))
    changes = form.changes(children)
    rejected = await links.decide_all(
        children, changes, screen="page_intermediaire", dry_run=False
    )
    if rejected:
        errors = rejected_decision_errors(rejected)
        return _children_form(request, children, form, errors, account)
    confirmed = sum(change.decision == "confirm" for change in changes)
    refused = len(changes) - confirmed
    logger.info(
        "children_choices_applied",
        account_id=str(account["account_id"]),
        confirmed=confirmed,
        refused=refused,
    )
    session.data[FLASH_KEY] = _choices_message(confirmed, refused)
    return _redirect(ACTIONS_PAGE)


def _choices_message(confirmed: int, refused: int) -> str:
    parts = []
    if confirmed:
        parts.append(
            f"{confirmed} enfant{'s' if confirmed > 1 else ''} "
            f"rattaché{'s' if confirmed > 1 else ''} à votre compte"
        )
    if refused:
        parts.append(
            f"{refused} refus enregistré{'s' if refused > 1 else ''}, "
            "l'école ou l'établissement en sera informé"
        )
    return "Vos choix ont été enregistrés : " + " ; ".join(parts) + "."


@router.get(ACCOUNT_PAGE)
async def account_page(
    request: Request,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    retour: str | None = None,
) -> Response:
    """Show *Mes informations* and *Mes enfants*, after login when needed. A
    téléservice may pass its address in ``retour`` to get the user back:
    only the catalogue's téléservices are linked to, other addresses are
    ignored."""
    if retour is not None:
        service = catalogue.registered_return(retour)
        if service is None:
            logger.warning(
                "return_address_rejected", account_id=str(session.account_id)
            )
            session.data.pop(RETURN_KEY, None)
        else:
            session.data[RETURN_KEY] = {"adresse": retour, "nom": service.nom}
    account = await _activated_account(pool, session)
    if account is None:
        if session.account_id is None:
            session.data[NEXT_PAGE_KEY] = ACCOUNT_PAGE
        return _login_or_activation(session)
    return await _account_page(request, links, session, account, {})


async def _account_page(
    request,
    links,
    session,
    account,
    errors: dict[str, str],
    status_code: int = 200,
    *,
    email_form: dict[str, str] | None = None,
) -> Response:
    # Only responsables have *Mes enfants*; pupils and staff see *Mes
    # informations* alone.
    children = []
    if account["kind"] == "responsable":
        children = await _confirmed_children(links, account["responsable_ids"])
    return _render(
        request,
        "mon_compte.html",
        {
            "account": account,
            "children": children,
            "errors": errors,
            "flash": session.data.pop(FLASH_KEY, None),
            "teleservice_return": session.data.get(RETURN_KEY),
            "min_password_length": passwords.MIN_PASSWORD_LENGTH,
            "email_form": email_form or {"email": "", "confirmation": ""},
        },
        status_code=status_code,
    )


async def _confirmed_children(links, responsable_ids) -> list[Link]:
    return [
        link for link in await links.links(responsable_ids) if link.state == "confirmed"
    ]


@router.post(ACCOUNT_PAGE + "/mot-de-passe")
async def change_password(
    request: Request,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    settings: AppSettings,
    current_password: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_confirmation: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Replace the password after checking the current one. Wrong current
    passwords count as failed logins of the identifiant, so this form cannot
    be used to guess the password faster than the login page. The change ends
    the account's other sessions and renews this one."""
    _check_csrf(session, csrf_token)
    account = await _activated_account(pool, session)
    if account is None:
        return _login_or_activation(session)
    errors = {}
    wait = await _current_password_wait(pool, account, current_password)
    if wait:
        errors["current_password"] = throttle.wait_message(wait)
    elif wait is None:
        errors["current_password"] = MESSAGES["current_password_wrong"]
    errors |= new_password_errors(
        password,
        password_confirmation,
        [
            account["identifiant"],
            account["nom"],
            account["prenom"],
            account["email"] or "",
        ],
    )
    if errors:
        logger.info(
            "password_change_rejected",
            account_id=str(account["account_id"]),
            fields=sorted(errors),
        )
        status_code = 429 if wait else 422
        return await _account_page(
            request, links, session, account, errors, status_code
        )

    password_hash = await run_in_threadpool(passwords.hash_password, password)
    async with pool.acquire() as connection, connection.transaction():
        await accounts.replace_password_hash(
            connection, account["account_id"], password_hash
        )
        # A reset link asked for before the change must not undo it.
        await accounts.void_reset_links(connection, account["account_id"])
    await sessions.end_others(pool, session)
    renewed = await sessions.renew(
        pool, session, settings.session_minutes, account["account_id"]
    )
    renewed.data.update(session.data)
    request.state.session = renewed
    logger.info("password_changed", account_id=str(account["account_id"]))
    renewed.data[FLASH_KEY] = "Votre mot de passe a été modifié."
    return _redirect(ACCOUNT_PAGE)


async def _current_password_wait(
    pool, account, current_password: str
) -> timedelta | None:
    """Check the current password under the login throttle of the account's
    identifiant. Returns zero when it matches, the wait when the identifiant
    is held back (no hash is computed then), or None when it is wrong, which
    counts as a failed login."""
    key = throttle.identifiant_key(account["identifiant"])
    async with pool.acquire() as connection, connection.transaction():
        await throttle.lock_keys(connection, [key])
        wait = await throttle.wait_before_login(
            connection, {key: throttle.IDENTIFIANT_LIMITS}
        )
        if wait:
            return wait
        if await run_in_threadpool(
            passwords.verify_password, account["password_hash"], current_password
        ):
            return timedelta(0)
        await throttle.record_failure(connection, [key])
        return None


@router.post(ACCOUNT_PAGE + "/enfants/refus")
async def ask_account_refusal(
    request: Request,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    link_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Start refusing one confirmed child; the last one cannot be refused."""
    _check_csrf(session, csrf_token)
    account = await _activated_account(pool, session)
    if account is None:
        return _login_or_activation(session)
    children = await _confirmed_children(links, account["responsable_ids"])
    child = _child_with_id(children, link_id)
    if len(children) == 1:
        logger.info(
            "account_refusal_rejected",
            account_id=str(account["account_id"]),
            codes=["last_confirmed_link"],
        )
        errors = {f"retirer-{child.link_id}": MESSAGES["last_confirmed_link"]}
        return await _account_page(request, links, session, account, errors, 422)
    session.data[ACCOUNT_REFUSAL_KEY] = str(child.link_id)
    return _redirect(ACCOUNT_REFUSAL_CONFIRMATION)


def _child_with_id(children: list[Link], link_id: str) -> Link:
    """Return the child of ``link_id`` among the parent's confirmed ones;
    another parent's link or a malformed id raises LinkNotOwned."""
    for child in children:
        if str(child.link_id) == link_id:
            return child
    raise LinkNotOwned(f"link {link_id!r} is not a confirmed link of this account")


@router.get(ACCOUNT_REFUSAL_CONFIRMATION)
async def account_refusal_page(
    request: Request, pool: Pool, links: Links, session: CurrentSession
) -> Response:
    """Show the confirmation screen for the child about to be refused."""
    account = await _activated_account(pool, session)
    link_id = session.data.get(ACCOUNT_REFUSAL_KEY)
    if account is None or link_id is None:
        return _redirect(ACCOUNT_PAGE)
    children = await _confirmed_children(links, account["responsable_ids"])
    child = _child_with_id(children, link_id)
    return _render(
        request,
        "confirmation_refus.html",
        {"refused": [child], "confirm_action": ACCOUNT_REFUSAL_CONFIRMATION},
    )


@router.post(ACCOUNT_REFUSAL_CONFIRMATION)
async def confirm_account_refusal(
    request: Request,
    pool: Pool,
    links: Links,
    session: CurrentSession,
    action: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """*Valider* refuses the child, who leaves the portal at once; *Annuler*
    keeps the link."""
    _check_csrf(session, csrf_token)
    account = await _activated_account(pool, session)
    link_id = session.data.pop(ACCOUNT_REFUSAL_KEY, None)
    if account is None or link_id is None or action != "valider":
        return _redirect(ACCOUNT_PAGE)

    children = await _confirmed_children(links, account["responsable_ids"])
    child = _child_with_id(children, link_id)
    codes = ["last_confirmed_link"] if len(children) == 1 else []
    if not codes:
        rejected = await links.decide_all(
            children,
            [Choice(child.link_id, "refuse")],
            screen="mon_compte",
            dry_run=False,
        )
        codes = list(rejected.values())
    if codes:
        logger.info(
            "account_refusal_rejected",
            account_id=str(account["account_id"]),
            codes=codes,
        )
        errors = {f"retirer-{child.link_id}": decision_message(codes[0])}
        return await _account_page(request, links, session, account, errors, 422)

    logger.info("link_refused_from_account", account_id=str(account["account_id"]))
    session.data[FLASH_KEY] = (
        f"Le rattachement de {child.prenom} {child.nom} à votre compte est retiré. "
        "L'école ou l'établissement en sera informé."
    )
    return _redirect(ACCOUNT_PAGE)


@router.post("/mot-de-passe/force")
async def password_strength(
    pool: Pool,
    session: CurrentSession,
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Return the French strength label of a password being typed, for the
    meter next to the field, judged with the logged-in person's names as the
    form will judge it."""
    _check_csrf(session, csrf_token)
    account = await _current_account(pool, session)
    user_inputs = []
    if account is not None:
        user_inputs = [
            account["identifiant"],
            account["nom"],
            account["prenom"],
            account["email"] or "",
        ]
    # zxcvbn takes CPU time that grows with the length, so it runs in a worker
    # thread, and on no more than the longest password a form accepts.
    password = password[: passwords.MAX_PASSWORD_LENGTH + 1]
    problem = await run_in_threadpool(passwords.password_problem, password, user_inputs)
    strength = await run_in_threadpool(
        passwords.estimate_strength, password, user_inputs
    )
    return JSONResponse(
        {
            "score": strength.score,
            "label": strength.label,
            "message": MESSAGES[problem] if problem else None,
        }
    )
