"""Money amounts in CNY as exports write them: separators, currency marks, 万/亿 units."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from mdm.standardize.text import nfkc, to_text

# Channel `units:` values (with their Chinese spellings) and the yuan they stand for.
UNIT_FACTORS: dict[str, int] = {
    "yuan": 1,
    "元": 1,
    "wan": 10_000,
    "万": 10_000,
    "万元": 10_000,
    "yi": 100_000_000,
    "亿": 100_000_000,
    "亿元": 100_000_000,
}
# A unit written in the value wins over the channel unit: "12万" is 120,000 yuan everywhere.
_VALUE_UNITS: tuple[tuple[str, int], ...] = (
    ("亿元", 100_000_000),
    ("万元", 10_000),
    ("亿", 100_000_000),
    ("万", 10_000),
    ("元", 1),
)
# Yuan marks only: an amount in another currency must not pass for yuan.
_CURRENCY = re.compile(r"¥|RMB|CNY|人民币", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,\s']")
_COUNT_SUFFIXES = re.compile(r"[次笔单个]$")  # "12次", "3笔": times, transactions


def unit_factor(unit: str) -> int:
    """Yuan per unit; ValueError naming the unit for anything not in UNIT_FACTORS."""
    try:
        return UNIT_FACTORS[unit.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown amount unit {unit!r}; use one of yuan, wan, yi") from None


def parse_amount(value: Any, unit: str = "yuan") -> float | None:
    """Amount in yuan. Accepts thousands separators (, ，), currency marks (¥ ￥ RMB 元),
    万/万元/亿/亿元 written in the value, signs and accounting negatives ``(1,234.00)``;
    plain numbers are scaled by the channel ``unit`` (yuan, wan = 10,000, yi = 100,000,000)."""
    factor = unit_factor(unit)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)
        return float(number * factor) if number.is_finite() else None
    text = to_text(value)
    if text is None:
        return None
    text = _SEPARATORS.sub("", _CURRENCY.sub("", nfkc(text)))
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    for suffix, suffix_factor in _VALUE_UNITS:
        if text.endswith(suffix):
            text, factor = text[: -len(suffix)], suffix_factor
            break
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return float(-number * factor if negative else number * factor)


# A count beyond this is no count of transactions but a mistyped or hostile value, and would
# not fit the warehouse's 64-bit integer column either.
MAX_COUNT = 10**12


def parse_count(value: Any) -> int | None:
    """A non-negative whole count: 12, 12.0, "12", "1,200", "12次", "12笔"; None otherwise
    (and above MAX_COUNT)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
        whole = number.is_integer() and 0 <= number <= MAX_COUNT
        return int(number) if whole else None
    text = to_text(value)
    if text is None:
        return None
    text = _COUNT_SUFFIXES.sub("", _SEPARATORS.sub("", nfkc(text)))
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_COUNT)):
        return None
    count = int(text)
    return count if count <= MAX_COUNT else None
