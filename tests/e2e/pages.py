"""Helpers to read the identity service's pages as a browser would."""

import re
from html import unescape

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CHILD = re.compile(
    r'<legend>(?P<prenom>[^<]+?) (?P<nom>[^<]*?) <span class="child-school">.*?'
    r'name="choix-(?P<link_id>[0-9a-f-]{36})"',
    re.S,
)
_ERROR = re.compile(r'<p class="error-message"[^>]*>([^<]+)</p>')


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
