"""Vectorized fast paths for the shapes most values already have.

``standardize_frame`` calls the scalar standardizers once per distinct value. In columns where
nearly every value is distinct (ids, phones, e-mails, amounts, timestamps, addresses) that is
still one Python call per row, so these functions recognise with Arrow compute, over a whole
array of values, those whose standard form is certain (a plain 11-digit mobile, an 18-digit id,
an already clean address) and produce it directly. Anything unusual is left unhandled for the
scalar function. On every value they handle they must agree with the scalar functions exactly;
tests/test_standardize_vectorized.py checks that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mdm.standardize.dates import CHINA_TZ
from mdm.standardize.emails import EMAIL_PATTERN
from mdm.standardize.ids import birth_date_from_digits, rid_check_codes
from mdm.standardize.names import (
    HONORIFIC_FINAL_CHARS,
    HONORIFIC_PREFIXES,
    pinyin_token,
    surname_pinyin,
    to_simplified_all,
)
from mdm.standardize.surnames import COMPOUND_SURNAMES
from mdm.standardize.text import NULL_TOKENS


class Handled(NamedTuple):
    mask: np.ndarray  # bool per value: it was standardized here
    values: np.ndarray | None  # standardized values where mask is True; None: the input itself


class HandledNames(NamedTuple):
    mask: np.ndarray
    name_key: np.ndarray
    name_pinyin: np.ndarray
    name_pinyin_sorted: np.ndarray


class HandledIds(NamedTuple):
    mask: np.ndarray
    number: np.ndarray
    valid: np.ndarray
    birth_date: np.ndarray
    gender: np.ndarray


# Characters that NFKC leaves alone and that are neither space, control nor invisible: text
# made only of them, single-spaced and trimmed, is already what clean_text would return.
_STABLE_CHARS = (
    "!-~\u00b7\u2014\u2018\u2019\u201c\u201d\u3001-\u3003\u3007-\u3011\u3400-\u4dbf\u4e00-\u9fff"
)
_CLEAN_TEXT = f"[{_STABLE_CHARS}]+(?: [{_STABLE_CHARS}]+)*"
_CLEAN_NAME = "[\u3400-\u4dbf\u4e00-\u9fff]+|[A-Za-z]+(?: [A-Za-z]+)*"
_PLAIN_CHINESE_NAME = "[\u4e00-\u9fff]{2,}"
_PHONE_SEPARATORS = r"[ \-.()/]"
_CN_MOBILE = r"^(?:\+86|0086|86)?(?P<mobile>1[3-9][0-9]{9})$"
_PLAIN_AMOUNT = r"-?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
# Years 1900-2099 only: pandas and Python disagree about exotic years such as 0000.
_ISO_DAY = r"(?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}"
_ISO_TIME = r"[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3}|\.[0-9]{6})?"
_ISO_NAIVE = f"{_ISO_DAY}(?:[ T]{_ISO_TIME})?"
_ISO_OFFSET = f"{_ISO_DAY}T{_ISO_TIME}(?:Z|[+-][0-9]{{2}}:[0-9]{{2}})"
_DATE_FORMATS = (  # (pattern, strptime format), years 1900-2099 as above
    ("(?:19|20)[0-9]{2}-[0-9]{1,2}-[0-9]{1,2}", "%Y-%m-%d"),
    ("(?:19|20)[0-9]{2}/[0-9]{1,2}/[0-9]{1,2}", "%Y/%m/%d"),
    ("(?:19|20)[0-9]{2}年[0-9]{1,2}月[0-9]{1,2}日", "%Y年%m月%d日"),
    ("(?:19|20)[0-9]{6}", "%Y%m%d"),
)
_RESIDENT_ID = "[0-9]{17}[0-9Xx]"


def arrow_strings(values: pd.Series | Sequence[Any]) -> pa.Array | None:
    """The values as an Arrow large_string array; None when any is neither a string nor null."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    return array.cast(pa.large_string())


def clean_texts(strings: pa.Array) -> Handled:
    """Text that ``clean_text`` would return unchanged."""
    return Handled(_fullmatch(strings, _CLEAN_TEXT) & ~_is_null_token(strings), None)


def clean_person_names(strings: pa.Array) -> Handled:
    """Names that ``clean_person_name`` would return unchanged: pure Chinese, or latin words."""
    return Handled(_fullmatch(strings, _CLEAN_NAME) & ~_is_null_token(strings), None)


def cn_mobiles(strings: pa.Array) -> Handled:
    """Chinese mobiles with only +86/0086/86 and ASCII separators around them."""
    compact = pc.replace_substring_regex(strings, _PHONE_SEPARATORS, "")
    mobile = pc.struct_field(pc.extract_regex(compact, _CN_MOBILE), "mobile")
    # to_e164 drops a "(0)" trunk prefix before anything else; leave those to it.
    mask = _true(pc.is_valid(mobile)) & ~_true(pc.match_substring(strings, "(0)"))
    prefix, separator = pa.scalar("+86", pa.large_string()), pa.scalar("", pa.large_string())
    return Handled(mask, _objects(pc.binary_join_element_wise(prefix, mobile, separator)))


def plain_chinese_name_keys(names: pa.Array) -> HandledNames:
    """Name keys of Chinese names with a one-character surname and no honorific (张伟, 陳國藩),
    by far the most common shape: surname and given name are read once per distinct value."""
    size = len(names)
    key, pinyin, pinyin_sorted = (np.full(size, None, dtype=object) for _ in range(3))
    plain = _fullmatch(names, _PLAIN_CHINESE_NAME)
    if not plain.any():
        return HandledNames(plain, key, pinyin, pinyin_sorted)
    candidates = pc.filter(names, pa.array(plain))
    simplified = pa.array(to_simplified_all(candidates.to_pylist()), pa.large_string())
    # Compound surnames (欧阳) and honorific forms (王先生, 老王) are left to name_keys.
    handled = (
        _fullmatch(simplified, _PLAIN_CHINESE_NAME)
        & ~_starts_or_ends_with(simplified, 2, COMPOUND_SURNAMES, at_end=False)
        & ~_starts_or_ends_with(simplified, 1, HONORIFIC_PREFIXES, at_end=False)
        & ~_starts_or_ends_with(simplified, 1, HONORIFIC_FINAL_CHARS, at_end=True)
    )
    simplified = pc.filter(simplified, pa.array(handled))
    surname = _each_distinct(pc.utf8_slice_codeunits(simplified, 0, 1), surname_pinyin)
    given = _each_distinct(pc.utf8_slice_codeunits(simplified, 1), pinyin_token)
    space = pa.scalar(" ", pa.large_string())
    joined = pc.binary_join_element_wise(surname, given, space)
    reversed_ = pc.binary_join_element_wise(given, surname, space)
    rows = np.flatnonzero(plain)[handled]
    key[rows] = _objects(simplified)
    pinyin[rows] = _objects(joined)
    pinyin_sorted[rows] = _objects(pc.if_else(pc.less_equal(surname, given), joined, reversed_))
    mask = np.zeros(size, dtype=bool)
    mask[rows] = True
    return HandledNames(mask, key, pinyin, pinyin_sorted)


def emails(strings: pa.Array) -> Handled:
    """Plain ASCII addresses, lowercased."""
    lower = pc.utf8_lower(strings)
    return Handled(_fullmatch(lower, EMAIL_PATTERN), _objects(lower))


def yuan_amounts(strings: pa.Array) -> Handled:
    """Plain decimal numbers, optionally with comma thousands separators, taken as yuan."""
    mask = _fullmatch(strings, _PLAIN_AMOUNT)
    digits = pc.replace_substring(pc.if_else(pa.array(mask), strings, None), ",", "")
    return Handled(mask, pc.cast(digits, pa.float64()).to_numpy(zero_copy_only=False))


def iso_datetimes(strings: pa.Array) -> Handled:
    """ISO dates and datetimes, naive (taken as China time) or with an offset (converted)."""
    values = np.full(len(strings), np.datetime64("NaT"), dtype="datetime64[us]")
    naive = _fullmatch(strings, _ISO_NAIVE)
    if naive.any():
        values[naive] = _to_datetime(strings, naive).to_numpy(dtype="datetime64[us]")
    offset = _fullmatch(strings, _ISO_OFFSET)
    if offset.any():
        china = _to_datetime(strings, offset, utc=True).dt.tz_convert(CHINA_TZ)
        values[offset] = china.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    # Impossible dates (2024-02-30) come back NaT: the scalar parser reports them.
    return Handled(~np.isnat(values), values)


def common_dates(strings: pa.Array) -> Handled:
    """YYYY-M-D, YYYY/M/D, YYYY年M月D日 and YYYYMMDD dates, as ``datetime.date`` objects."""
    values = np.full(len(strings), None, dtype=object)
    for pattern, fmt in _DATE_FORMATS:
        mask = _fullmatch(strings, pattern)
        if mask.any():
            values[mask] = _to_datetime(strings, mask, fmt=fmt).dt.date.to_numpy()
    # Impossible dates (2024-02-30) come back missing: the scalar parser reports them.
    return Handled(pd.notna(values), values)


def resident_ids(strings: pa.Array) -> HandledIds:
    """18-character resident IDs without separators or masks, with check and birth date."""
    mask = _fullmatch(strings, _RESIDENT_ID)
    size = len(strings)
    number = np.full(size, None, dtype=object)
    valid = np.zeros(size, dtype=bool)
    birth_date = np.full(size, None, dtype=object)
    gender = np.full(size, None, dtype=object)
    if mask.any():
        ids = pc.utf8_upper(pc.filter(strings, pa.array(mask)))
        chars = _fixed_width_bytes(ids, 18)
        digits = (chars[:, :17] - ord("0")).astype(np.int64)
        check_ok = rid_check_codes(digits) == chars[:, 17]
        # Birth dates repeat: build each distinct one once, from its YYYYMMDD number.
        yyyymmdd = digits[:, 6:14] @ (10 ** np.arange(7, -1, -1, dtype=np.int64))
        codes, distinct_days = pd.factorize(yyyymmdd)
        dates = [birth_date_from_digits(str(day)) for day in distinct_days.tolist()]
        births = _object_array(dates)[codes]
        number[mask] = ids.to_numpy(zero_copy_only=False)
        valid[mask] = check_ok & pd.notna(births)
        birth_date[mask] = births
        gender[mask] = np.where(chars[:, 16] % 2 == 1, "M", "F")
    return HandledIds(mask, number, valid, birth_date, gender)


def _fixed_width_bytes(ascii_strings: pa.Array, width: int) -> np.ndarray:
    """Strings all of one byte width, as an (n, width) uint8 matrix, without copying each."""
    offsets = np.frombuffer(ascii_strings.buffers()[1], dtype=np.int64)
    start = offsets[ascii_strings.offset]
    data = np.frombuffer(ascii_strings.buffers()[2], dtype=np.uint8)
    return data[start : start + width * len(ascii_strings)].reshape(-1, width)


def _object_array(items: list[Any]) -> np.ndarray:
    return np.fromiter(items, dtype=object, count=len(items))


def _starts_or_ends_with(
    strings: pa.Array, length: int, choices: Iterable[str], *, at_end: bool
) -> np.ndarray:
    start, stop = (-length, None) if at_end else (0, length)
    part = pc.utf8_slice_codeunits(strings, start, stop)
    return _true(pc.is_in(part, value_set=pa.array(sorted(choices), pa.large_string())))


def _each_distinct(strings: pa.Array, fn: Callable[[str], str]) -> pa.Array:
    """``fn`` applied once per distinct string, as an array aligned with ``strings``."""
    encoded = pc.dictionary_encode(strings)
    mapped = pa.array([fn(value) for value in encoded.dictionary.to_pylist()], pa.large_string())
    return pc.take(mapped, encoded.indices)


def _fullmatch(strings: pa.Array, pattern: str) -> np.ndarray:
    return _true(pc.match_substring_regex(strings, f"^(?:{pattern})$"))


def _is_null_token(strings: pa.Array) -> np.ndarray:
    return _true(pc.is_in(pc.utf8_lower(strings), value_set=pa.array(sorted(NULL_TOKENS))))


def _true(booleans: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(booleans, False).to_numpy(zero_copy_only=False), dtype=bool)


def _objects(strings: pa.Array) -> np.ndarray:
    return np.asarray(strings.to_numpy(zero_copy_only=False), dtype=object)


def _to_datetime(
    strings: pa.Array, mask: np.ndarray, *, fmt: str = "ISO8601", utc: bool = False
) -> pd.Series:
    selected = pd.Series(pd.array(pc.filter(strings, pa.array(mask)), dtype="str"))
    return pd.to_datetime(selected, format=fmt, errors="coerce", utc=utc)
