"""Random tokens of the links sent by e-mail (password reset, e-mail
verification). The link carries the token, and the database stores only its
SHA-256, so a database read gives no working link away."""

import hashlib
import secrets

# 32 random bytes, 43 characters in the link: far beyond guessing range, so
# the pages that take a token need no throttle.
TOKEN_BYTES = 32


def new_token() -> str:
    """Return a new random token, safe to put in a URL path."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """Return the SHA-256 under which ``token`` is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
