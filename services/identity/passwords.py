"""Password hashing, the rules for new passwords and their strength estimate,
and the provisional passwords printed on school notices."""

import hashlib
import hmac
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

# argon2-cffi's defaults follow RFC 9106's second recommended option
# (argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()

# A hash of a random password, verified when the identifiant is unknown, so
# that a login takes as long whether the account exists or not.
_DUMMY_HASH = _hasher.hash(uuid.uuid4().hex)

# Letters and digits that cannot be misread on paper (no 0/O, 1/l/I).
_NOTICE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
NOTICE_PASSWORD_LENGTH = 10

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# zxcvbn refuses longer passwords (ValueError beyond 72 characters).
ZXCVBN_MAX_LENGTH = 72


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password`` against ``password_hash``; a missing hash is checked
    against a dummy one so the time taken does not reveal it. Call it from a
    worker thread: argon2 takes tens of milliseconds of CPU."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def spend_verification_time(password: str) -> None:
    """Do the argon2 work of one verification and discard the result, so that
    a login that needs no hash takes as long as one that does."""
    verify_password(None, password)


def needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def provisional_password(
    notice_secret: str, account_id: uuid.UUID, notice_version: int = 0
) -> str:
    """Return the provisional password of an account not yet activated.

    It is derived from the account id and its notice version with a keyed
    hash instead of being stored, so a notice can be printed again at any time
    and a database read gives no password away. Raising the version (a reset
    by the school) gives a new password; version 0 keeps the first notices'.
    """
    message = account_id.bytes
    if notice_version:
        message += notice_version.to_bytes(4, "big")
    digest = hmac.new(notice_secret.encode(), message, hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    letters = []
    for _ in range(NOTICE_PASSWORD_LENGTH):
        number, index = divmod(number, len(_NOTICE_ALPHABET))
        letters.append(_NOTICE_ALPHABET[index])
    return "".join(letters)


def check_provisional_password(
    notice_secret: str, account_id: uuid.UUID, password: str, notice_version: int = 0
) -> bool:
    """Compare ``password`` with the account's provisional password in
    constant time."""
    expected = provisional_password(notice_secret, account_id, notice_version)
    return hmac.compare_digest(expected.encode(), password.strip().lower().encode())


# French names of zxcvbn's scores 0 to 4, from the easiest to guess.
STRENGTH_LABELS = ("Très faible", "Faible", "Moyen", "Fort", "Très fort")
# Passwords whose zxcvbn score is below this are rejected even when long
# enough, such as « aaaaaaaaaaaa » or « azertyuiop12 ».
MIN_STRENGTH_SCORE = 2
_COMMON_PASSWORDS_FILE = Path(__file__).parent / "common_passwords.txt"


@dataclass(frozen=True)
class Strength:
    """zxcvbn's estimate of how hard a password is to guess."""

    score: int
    label: str


@cache
def _common_passwords() -> frozenset[str]:
    lines = _COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.casefold() for line in lines if line and not line.startswith("#")
    )


def estimate_strength(password: str, user_inputs: Sequence[str] = ()) -> Strength:
    """Estimate the strength of ``password`` with zxcvbn, penalising words
    of ``user_inputs`` (the person's name, identifiant, e-mail). Only the
    first 72 characters are judged, all zxcvbn accepts: adding characters
    never makes a password easier to guess, so the estimate of a longer one is
    a lower bound."""
    inputs = []
    for value in filter(None, user_inputs):
        plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
        inputs += [
            value.lower(),
            plain.lower(),
            re.sub(r"[^a-z0-9]", "", plain.lower()),
        ]
    score = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=inputs)["score"]
    return Strength(score, STRENGTH_LABELS[score])


def password_problem(password: str, user_inputs: Sequence[str] = ()) -> str | None:
    """Return the code of the first rule a new password breaks, or None.
    The rules are on length, the list of common passwords and the zxcvbn
    score, never on classes of characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "password_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "password_long"
    if password.casefold() in _common_passwords():
        return "password_common"
    if estimate_strength(password, user_inputs).score < MIN_STRENGTH_SCORE:
        return "password_weak"
    return None
