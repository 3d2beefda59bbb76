"""Identity document numbers: the Chinese resident ID (居民身份证) and the other SPEC id types.

A resident ID is 6 digits of region, 8 of birth date, 3 of sequence (odd for men) and an
ISO 7064 MOD 11-2 check character; legacy 15-digit cards lack the century and the check.
Masked numbers (110101********1234) are kept as written but are not identifiers: valid is None.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple

import numpy as np

from mdm.standardize.text import ascii_digits, nfkc, to_text


class NormalizedId(NamedTuple):
    id_type: str | None
    number: str | None  # compact uppercase form; the masked form for masked numbers
    valid: bool | None  # None: no number, masked, or a type without a checkable format
    masked: bool | None  # None when there is no number
    birth_date: dt.date | None  # encoded in a resident ID (also a masked one that shows it)
    gender: str | None  # M/F encoded in a resident ID


_SEPARATORS = re.compile(r"[^0-9A-Z*●•×]")
_MASK = re.compile(r"[*●•×]|XX")
_RID_SHAPE = re.compile(r"(?=(?:\D*\d){8})[\dX*]{15}(?:[\dX*]{3})?")
# Plausible shapes only: the issuing authorities publish no check digits for these.
_ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "PASSPORT": re.compile(r"(?=\D*\d)[A-Z0-9]{5,17}"),
    # 回乡证 H/M + 8 or 10 digits; 港澳通行证 C + 8 digits or C + letter + 7 digits.
    "HKMO_PERMIT": re.compile(r"[HMC](?:\d{8}|\d{10}|[A-Z]\d{7})"),
    # 台胞证 8 digits (card) or 10 digits with an optional issue letter; 往来台湾通行证 L + 8.
    "TW_PERMIT": re.compile(r"\d{8}|\d{10}[A-Z]?|L\d{8}"),
    # Old cards: 3-letter nationality + 12 digits; 2023 cards: 18 characters starting with 9.
    "FOREIGN_PR": re.compile(r"[A-Z]{3}\d{12}|9\d{16}[\dX]"),
}
_EARLIEST_BIRTH = dt.date(1900, 1, 1)
_IMPORT_DAY = dt.date.today()


def normalize_resident_id(value: Any) -> NormalizedId:
    """Normalize a CN resident ID: NFKC, any Unicode digits as ASCII (٠-٩ too), separators
    dropped, ``x`` → ``X``, 15 → 18 digits; valid when the check character matches and the
    birth date is a real date between 1900-01-01 and today."""
    return _resident_id(_compact(value))


def normalize_id(id_type: str | None, value: Any) -> NormalizedId:
    """Normalize an id number of a SPEC id type (CN_RID, PASSPORT, HKMO_PERMIT, TW_PERMIT,
    FOREIGN_PR, OTHER). Without a type, a 15/18-character resident-ID shape is taken as CN_RID;
    anything else keeps type None and valid None."""
    number = _compact(value)
    if id_type is None and number is not None and _RID_SHAPE.fullmatch(number):
        id_type = "CN_RID"
    if id_type == "CN_RID":
        return _resident_id(number)
    if number is None:
        return NormalizedId(id_type, None, None, None, None, None)
    if _MASK.search(number):
        return NormalizedId(id_type, number, None, True, None, None)
    pattern = _ID_PATTERNS.get(id_type or "")
    valid = None if pattern is None else pattern.fullmatch(number) is not None
    return NormalizedId(id_type, number, valid, False, None, None)


def legacy_resident_id(value: Any) -> str | None:
    """The 15 digits of a legacy resident ID (separators dropped), None for anything else."""
    number = _compact(value)
    return number if number is not None and len(number) == 15 and number.isdigit() else None


def expand_legacy_resident_id(number15: str, century: int) -> NormalizedId:
    """A legacy resident ID as the 18-digit number of a holder born in ``century`` (19: 1900s),
    normalized like any other."""
    return _resident_id(_upgrade_legacy(number15, century))


def birth_date_from_digits(yyyymmdd: str) -> dt.date | None:
    """The date of the 8 birth digits of a resident ID; None unless real and 1900..today."""
    try:
        birth_date = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    if birth_date < _EARLIEST_BIRTH:
        return None
    # today() is slow enough to matter per row; only dates after the import day need it.
    return birth_date if birth_date <= _IMPORT_DAY or birth_date <= dt.date.today() else None


def _resident_id(number: str | None) -> NormalizedId:
    if number is None:
        return NormalizedId("CN_RID", None, None, None, None, None)
    if _MASK.search(number):
        birth_date, gender = _visible_birth_date_and_gender(number)
        return NormalizedId("CN_RID", number, None, True, birth_date, gender)
    if len(number) == 15 and number.isdigit():
        number = _upgrade_legacy(number)
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return NormalizedId("CN_RID", number, False, False, None, None)
    birth_date = birth_date_from_digits(number[6:14])
    valid = birth_date is not None and rid_check_char(number[:17]) == number[17]
    return NormalizedId("CN_RID", number, valid, False, birth_date, _gender(number[16]))


# ISO 7064 MOD 11-2 (GB 11643), the resident ID's check: weights 2^(17-i) mod 11 over the first
# 17 digits, and the check character for each weighted sum mod 11. The one home of the formula:
# the standardizer, the expectations and the test bed all call these two.
_RID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_RID_CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)


def rid_check_codes(digits: np.ndarray) -> np.ndarray:
    """The check character, as an ASCII code, of each row of 17 resident-ID digits (0-9 ints)."""
    return _RID_CHECK_CHARS[(digits.astype(np.int64) @ _RID_WEIGHTS) % 11]


def rid_check_char(body17: str) -> str:
    """The check character of a resident ID whose first 17 characters are ``body17``."""
    digits = np.frombuffer(body17.encode("ascii"), dtype=np.uint8) - ord("0")
    return chr(int(rid_check_codes(digits)))


def _compact(value: Any) -> str | None:
    text = to_text(value)
    if text is None:
        return None
    return _SEPARATORS.sub("", ascii_digits(nfkc(text)).upper()) or None


def _upgrade_legacy(number15: str, century: int = 19) -> str:
    # Legacy cards were issued to people born in the 1900s, so without other evidence the
    # century is 19; standardize_frame corrects it from a stated birth date.
    number17 = number15[:6] + str(century) + number15[6:]
    return number17 + rid_check_char(number17)


def _gender(sequence_digit: str) -> str:
    return "M" if int(sequence_digit) % 2 else "F"


def _visible_birth_date_and_gender(masked: str) -> tuple[dt.date | None, str | None]:
    # Some masks hide only the sequence (1101011990********): what shows is still evidence.
    if len(masked) != 18:
        return None, None
    birth_date = birth_date_from_digits(masked[6:14]) if masked[6:14].isdigit() else None
    gender = _gender(masked[16]) if masked[16].isdigit() else None
    return birth_date, gender
