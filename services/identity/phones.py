"""Comparison keys of French mobile phone numbers, as parents type them and as
the school exports write them."""

import re

_NOT_DIGIT = re.compile(r"\D")
_MOBILE_KEY = re.compile(r"^0[67][0-9]{8}$")


def phone_key(value: str | None) -> str | None:
    """Return the digits of a French phone number in national form, or None
    when it has no digit: ``+33 6 12 34 56 78``, ``0033612345678``,
    ``+33 (0)6 12 34 56 78`` and ``06.12.34.56.78`` all give ``0612345678``."""
    if value is None:
        return None
    digits = _NOT_DIGIT.sub("", value)
    if digits.startswith("0033"):
        digits = "0" + digits[4:]
    elif digits.startswith("330") and len(digits) == 12:
        # « +33 (0)6 12 34 56 78 » writes the national 0 in brackets.
        digits = digits[2:]
    elif digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits or None


def is_mobile_key(key: str | None) -> bool:
    """Tell whether ``key`` is a French mobile number: ten digits starting
    with 06 or 07 (mainland and overseas)."""
    return key is not None and _MOBILE_KEY.match(key) is not None


def stored_forms(key: str) -> list[str]:
    """Return the digit strings under which an export may store the number of
    ``key``: national, international with 33 and with 0033."""
    return [key, "33" + key[1:], "0033" + key[1:]]
