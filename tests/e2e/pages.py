"""Helpers to read the identity service's pages as a browser would."""

import re
from html import unescape

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CHILD = re.compile(
    r"<legend[^>]*>(?P<prenom>[^<]+?) (?P<nom>[^<]*?) "
    r'<span class="child-school[^"]*">.*?'
    r'name="choix-(?P<link_id>[0-9a-f-]{36})"',
    re.S,
)
_ERROR = re.compile(r'<p class="fr-message fr-message--error[^"]*"[^>]*>([^<]+)</p>')


def csrf_token(page: httpx.Response) -> str:
    """Return the CSRF token of the page's forms."""
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on {page.url}"
    return match.group(1)


def children_on_form(page: httpx.Response) -> dict[str, str]:
    """Return the link id of each child on the activation form, by first name."""
    return {
        unescape(match["prenom"]): match["link_id"]
        for match in _CHILD.finditer(page.text)
    }


def error_messages(page: httpx.Response) -> list[str]:
    """Return the error messages shown next to fields."""
    return [unescape(message) for message in _ERROR.findall(page.text)]


def text_of(page: httpx.Response) -> str:
    """Return the visible text of a page, blanks folded."""
    without_tags = re.sub(r"<[^>]+>", " ", page.text)
    return re.sub(r"\s+", " ", unescape(without_tags))


def log_in(client: httpx.Client, identifiant: str, password: str) -> httpx.Response:
    """Log in through the form and return the page it leads to."""
    login_page = client.get("/connexion")
    return client.post(
        "/connexion",
        data={
            "identifiant": identifiant,
            "password": password,
            "csrf_token": csrf_token(login_page),
        },
    )


def activate(
    client: httpx.Client,
    identifiant: str,
    provisional: str,
    *,
    email: str,
    password: str,
    birth_dates: dict[str, str | None],
) -> httpx.Response:
    """Log in with the notice and activate the account: 'Oui' with the given
    birth date for each child by first name, 'Non' where it is None, then
    *Valider* on the confirmation screen if any child is refused. Returns the
    page the activation leads to."""
    form = log_in(client, identifiant, provisional)
    assert form.url.path == "/activation", text_of(form)
    children = children_on_form(form)
    assert sorted(children) == sorted(birth_dates)
    fields = {
        "csrf_token": csrf_token(form),
        "email": email,
        "email_confirmation": email,
        "password": password,
        "password_confirmation": password,
    }
    for prenom, birth_date in birth_dates.items():
        link_id = children[prenom]
        fields[f"choix-{link_id}"] = "non" if birth_date is None else "oui"
        fields[f"naissance-{link_id}"] = birth_date or ""
    answer = client.post("/activation", data=fields)
    if answer.url.path == "/activation/confirmation":
        answer = client.post(
            "/activation/confirmation",
            data={"csrf_token": csrf_token(answer), "action": "valider"},
        )
    assert answer.url.path == "/portail", text_of(answer)
    return answer
