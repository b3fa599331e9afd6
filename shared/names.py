"""Comparison keys for names of people, identical across encodings and spellings."""

import re
import unicodedata

# Letters that Unicode does not decompose into a base letter and an accent.
_LIGATURES = str.maketrans({"Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss"})
_SEPARATORS = re.compile(r"[\s\-'’‘`´.]+")


def name_key(value: str) -> str:
    """Return the comparison key of a name: no accents, lower case, one space
    where hyphens, apostrophes or blanks were.

    ``name_key("Hélène Éluard-N'Diaye") == name_key("HELENE ELUARD N DIAYE")``.
    Two people are never merged on this key alone; it only narrows a match that
    another field (an id, a class, a phone number) confirms.
    """
    if value.isascii():
        # Nothing to decompose, and ASCII case folding is lower-casing.
        return _SEPARATORS.sub(" ", value.lower()).strip()
    decomposed = unicodedata.normalize("NFKD", value.translate(_LIGATURES))
    without_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", without_accents.casefold()).strip()


def email_key(value: str | None) -> str | None:
    """Return the comparison key of an e-mail address, or None when blank.

    The whole address is compared case-insensitively: the local part is
    case-sensitive in RFC 5321, but no French school export or mailbox
    provider we receive from relies on that.
    """
    if value is None or not value.strip():
        return None
    return value.strip().casefold()


def phone_key(value: str | None) -> str | None:
    """Return the digits of a French phone number in national form, or None
    when blank (``+33 6 12 34 56 78`` and ``06.12.34.56.78`` give the same key).
    """
    if value is None:
        return None
    digits = re.sub(r"\D", "", value)
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits or None
