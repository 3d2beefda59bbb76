"""Masking of personal identifiers for anything a person or a log reads (SPEC §8).

The warehouse holds the real values; logs, summaries, reports and Prefect artifacts use these.
"""

from __future__ import annotations

from typing import Any

SENSITIVE_FIELDS = frozenset({"id_number", "mobile", "phone_other", "email"})


def mask_id(value: str) -> str:
    """110101199003077777 → 110101********7777 (the form banks print on receipts)."""
    if len(value) <= 8:
        return "*" * len(value)
    return (
        value[:6] + "*" * (len(value) - 10) + value[-4:]
        if len(value) > 10
        else (value[:2] + "*" * (len(value) - 4) + value[-2:])
    )


def mask_phone(value: str) -> str:
    """+8613812345678 → +86138****5678: enough to recognise, not enough to call."""
    digits = len(value)
    if digits <= 7:
        return "*" * digits
    return value[: digits - 8] + "****" + value[-4:]


def mask_email(value: str) -> str:
    """zhang.wei@example.com → z***@example.com."""
    local, at, domain = value.partition("@")
    if not at:
        return "***"
    return (local[:1] or "*") + "***@" + domain


def mask_value(field: str | None, value: Any) -> Any:
    """The value as it may be shown: sensitive fields masked, others as they are."""
    if value is None or field not in SENSITIVE_FIELDS:
        return value
    text = str(value)
    if field == "id_number":
        return mask_id(text)
    if field == "email":
        return mask_email(text)
    return mask_phone(text)
