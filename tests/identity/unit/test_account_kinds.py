import pytest

from services.identity import account_kinds


@pytest.mark.parametrize(
    "path",
    [
        "/activation",
        "/activation/confirmation",
        "/actions-compte",
        "/actions-compte/enfants",
        "/actions-compte/confirmation",
        "/mon-compte/enfants",
        "/mon-compte/enfants/refus",
        "/mon-compte/enfants/confirmation",
    ],
)
def test_link_screens_are_responsable_pages(path):
    assert account_kinds.is_responsable_page(path)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/portail",
        "/connexion",
        "/activation-eleve",
        "/mon-compte",
        "/mon-compte/mot-de-passe",
        "/mot-de-passe/force",
        "/actions-compte-bis",
    ],
)
def test_other_pages_are_open_to_every_kind(path):
    assert not account_kinds.is_responsable_page(path)


@pytest.mark.parametrize(
    ("kind", "activated", "home"),
    [
        ("eleve", False, "/activation-eleve"),
        ("eleve", True, "/portail"),
        ("personnel", False, "/administration"),
        ("personnel", True, "/administration"),
        ("responsable", True, "/portail"),
    ],
)
def test_home_page_by_kind(kind, activated, home):
    assert account_kinds.home_page(kind, activated) == home
