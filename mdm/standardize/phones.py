"""Phone numbers to E.164.

Chinese mobiles (the bulk of the data) are recognised with one regular expression, both because
SPEC §2 defines them as ``1[3-9]`` + 9 digits (newer ranges included) and because it is ~20x
faster than phonenumbers; landlines and foreign numbers go through phonenumbers.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from mdm.standardize.text import nfkc, to_text

# Separators people type inside numbers; "(0)" is the trunk prefix in "+86 (0)10 …".
_SEPARATORS = re.compile(r"[\s\-.()/\u2010-\u2015]")
_CN_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_E164_CN_MOBILE = re.compile(r"\+861[3-9][0-9]{9}")


def to_e164(value: Any, default_region: str = "CN") -> str | None:
    """``+8613812345678`` style number, or None when the value is not a valid phone number.

    Accepts +86 / 0086 / 86 prefixes, spaces, dashes, dots and parentheses, full-width digits,
    CN landlines with area code (010-12345678, 0755 8888 8888), and foreign numbers written
    with + or 00. Numbers without an area code or country code cannot be placed and give None.
    """
    text = to_text(value)
    if text is None:
        return None
    compact = _SEPARATORS.sub("", nfkc(text).replace("(0)", ""))
    mobile = _CN_MOBILE.fullmatch(compact)
    if mobile:
        return "+86" + mobile.group(1)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    try:
        number = phonenumbers.parse(compact, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def is_cn_mobile(e164: str | None) -> bool:
    """True for an E.164 Chinese mobile number (+86 1[3-9] + 9 digits)."""
    return e164 is not None and _E164_CN_MOBILE.fullmatch(e164) is not None
