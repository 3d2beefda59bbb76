"""E-mail addresses: normalized for matching and checked for basic syntax."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from mdm.standardize.text import clean_text

# Deliberately basic (RFC 5322 allows far more): it rejects what hand entry gets wrong — missing
# @ or domain, spaces, doubled dots — and accepts what real mailboxes look like.
EMAIL_PATTERN = (
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}"
)
_EMAIL = re.compile(EMAIL_PATTERN)


class Email(NamedTuple):
    address: str | None  # normalized address; None when absent or invalid
    valid: bool | None  # None when absent


def normalize_email(value: Any) -> Email:
    """Lowercase, NFKC (full-width ＠), trimmed; ``mailto:`` and <angle brackets> dropped, and
    the ideographic full stop 。 typed for a dot in the domain repaired."""
    text = clean_text(value)
    if text is None:
        return Email(None, None)
    address = text.lower().replace("。", ".").removeprefix("mailto:").strip("<> ")
    if _EMAIL.fullmatch(address):
        return Email(address, True)
    return Email(None, False)
