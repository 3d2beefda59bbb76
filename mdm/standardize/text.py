"""Text primitives every standardizer builds on: NFKC, trimming, control characters, blanks."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

# Any whitespace (tab, newline, NBSP, ideographic space U+3000 after NFKC…) becomes one space,
# so "北京市\n朝阳区" keeps its word boundary instead of gluing the parts together.
_WHITESPACE = re.compile(r"\s+")
# What is left of C0/C1 controls after whitespace handling, plus invisible format characters
# (soft hyphen, zero-width space/joiners, BOM) that exports leak into names, and every bidi
# control: marks (U+200E/F, U+061C), embeddings and overrides (U+202A-E), isolates (U+2066-9).
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)
# Any Unicode decimal digit (Arabic-Indic ٠-٩, Devanagari, …) that NFKC leaves as it is.
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")

# Placeholders that exports write for "no value". They mean absent, not unparseable.
NULL_TOKENS: frozenset[str] = frozenset(
    ("null", "none", "nan", "nat", "n/a", "#n/a", "-", "--", "---", "—", "——", "/")
    + ("无", "空", "暂无")
)


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width digits/letters/space become ASCII, compatibility forms fold."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text)


def ascii_digits(text: str) -> str:
    """Unicode decimal digits as ASCII 0-9 (٠١٢ → 012); other characters unchanged."""
    if text.isascii():
        return text
    return _NON_ASCII_DIGIT.sub(lambda digit: str(unicodedata.decimal(digit.group())), text)


def to_text(value: Any) -> str | None:
    """The value as a string, or None for None/NaN/NA.

    Integral floats lose their ``.0`` because spreadsheets hand phone numbers, postal codes and
    ids over as floats (13812345678.0).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if _is_missing(value):
        return None
    return str(value)


def _is_missing(value: Any) -> bool:
    # pd.NA, pd.NaT and numpy NaN all compare unequal to themselves or refuse bool(); both
    # mean missing, without importing pandas here.
    try:
        return bool(value != value)
    except TypeError:
        return True


def clean_text(value: Any) -> str | None:
    """NFKC, whitespace collapsed to single spaces, control characters removed, trimmed.

    Returns None when nothing is left. Formula-looking text (``=cmd|...``) is kept verbatim:
    neutralizing it is the exporter's job, here it is just text.
    """
    text = to_text(value)
    if text is None:
        return None
    text = _CONTROL.sub("", _WHITESPACE.sub(" ", nfkc(text)))
    text = " ".join(text.split())
    return text or None


def is_blank(value: Any) -> bool:
    """True for None/NaN, empty or whitespace-only text, and NULL_TOKENS placeholders."""
    if _plainly_filled(value):
        return False
    text = clean_text(value)
    return text is None or text.lower() in NULL_TOKENS


def _plainly_filled(value: Any) -> bool:
    # The common case, decided without cleaning: printable text (no controls, no exotic spaces)
    # without surrounding spaces and longer than any placeholder can only clean to itself.
    return (
        isinstance(value, str)
        and len(value) > 8
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    )
