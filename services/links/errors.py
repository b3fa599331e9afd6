"""Errors of the links service. ``LinksError`` is the root; each subclass is
named after the rule that was broken."""


class LinksError(Exception):
    """Root of the links service's errors."""


class LinkNotFound(LinksError):
    """The link does not exist, or belongs to another responsable. The two are
    reported alike so that no caller can probe which link ids exist."""

    def __init__(self, link_id: object) -> None:
        super().__init__(f"link {link_id!r} not found for this responsable")
        self.link_id = link_id
