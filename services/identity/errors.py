"""Errors of the identity service; ``IdentityError`` is the root."""


class IdentityError(Exception):
    """Root of the identity service's errors."""


class LinksUnavailable(IdentityError):
    """The links service failed or timed out, so no link can be shown or decided."""


class LinkNotOwned(IdentityError):
    """The links service does not know the link for this responsable."""
