"""The pages each kind of account lands on. Responsables use the link
screens; pupils have their own activation and portal; school staff have the
administration. A pupil or a staff member who opens a link screen is sent to
their own home page instead."""

from fastapi import Request

PUPIL_KIND = "eleve"
STAFF_KIND = "personnel"
PUPIL_ACTIVATION = "/activation-eleve"
PORTAL = "/portail"
STAFF_HOME = "/administration"

# The screens that show or decide a responsable's links: the parents'
# activation form and its confirmation, the *page intermédiaire* with
# *Ajout d'enfants*, *Mes enfants* of *Mon compte*, and the e-mail change,
# since only responsables give an address. Each prefix covers the pages under it.
RESPONSABLE_PAGES = (
    "/activation",
    "/actions-compte",
    "/mon-compte/enfants",
    "/mon-compte/adresse-electronique",
)


class OtherKindsPage(Exception):
    """A pupil or a staff member requested a responsables' page."""

    def __init__(self, home: str) -> None:
        super().__init__(f"page for responsables only; home page is {home!r}")
        self.home = home


def is_responsable_page(path: str) -> bool:
    """Tell whether ``path`` is one of the link screens or under one."""
    return any(
        path == prefix or path.startswith(prefix + "/") for prefix in RESPONSABLE_PAGES
    )


def home_page(kind: str, activated: bool) -> str:
    """Return where an account of ``kind`` goes after login or when it opens a
    page that is not for it."""
    if kind == STAFF_KIND:
        return STAFF_HOME
    if kind == PUPIL_KIND and not activated:
        return PUPIL_ACTIVATION
    return PORTAL


async def keep_to_own_pages(request: Request) -> None:
    """Raise OtherKindsPage when a logged-in pupil or staff member requests a
    link screen, whatever the method, so that nothing is shown or posted."""
    session = getattr(request.state, "session", None)
    if session is None or session.account_id is None:
        return
    if not is_responsable_page(request.url.path):
        return
    row = await request.app.state.pool.fetchrow(
        "SELECT kind, activated_at FROM accounts WHERE account_id = $1",
        session.account_id,
    )
    if row is None or row["kind"] == "responsable":
        return
    raise OtherKindsPage(home_page(row["kind"], row["activated_at"] is not None))
