"""Masking of personal identifiers for anything a person or a log reads (SPEC §8).

The warehouse holds the real values; logs, summaries, reports and Prefect artifacts use these.
"""

from __future__ import annotations

import re
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


# Identifiers inside free text (error messages, logs): e-mail addresses; runs of 7 or more
# digits, with a leading + and a trailing X (ID numbers, E.164 phones); and phone numbers
# written in groups (+86 138-1234-5678) once they hold 11 digits, more than a date and time do.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGIT_RUN = re.compile(r"(?<![\w+])\+?\d{7,}[Xx]?(?!\w)")
_GROUPED_PHONE = re.compile(r"(?<![\w+])\+?\d{1,4}(?:[ -]\d{2,4}){2,5}(?![\w-])")


def _grouped_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    return mask_phone(text) if sum(char.isdigit() for char in text) >= 11 else text


def mask_text(text: str) -> str:
    """Free text with every e-mail, ID number and phone number in it masked."""
    text = _EMAIL.sub(lambda match: mask_email(match.group(0)), text)
    text = _GROUPED_PHONE.sub(_grouped_phone, text)
    return _DIGIT_RUN.sub(lambda match: mask_id(match.group(0)), text)


def install_masked_logging() -> None:
    """Mask every log record of this process as it is made, whoever logs it (Prefect's console
    and API handlers included): a failing task's message or traceback can quote the rows it
    worked on. Idempotent."""
    import logging

    current = logging.getLogRecordFactory()
    if getattr(current, "masks_identifiers", False):
        return

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            record.msg, record.args = mask_text(record.getMessage()), None
        except (TypeError, ValueError):  # a malformed format: leave it to the handler
            return record
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return record

    masked_record.masks_identifiers = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)
