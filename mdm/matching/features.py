"""Per-record matching keys, computed once as integer codes for vectorized blocking and comparison.

Every string key is factorized (code -1 = absent); string work (regexes, token splits) runs on the
distinct values only and is broadcast back through the codes, which matters at a million records
where most names, cities and surnames repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching import latin
from mdm.standardize.ids import CHECKED_ID_TYPES

NO_DATE = np.iinfo(np.int32).min
HANZI = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
_RESIDENT_ID = r"^\d{17}[\dX]$"


@dataclass(frozen=True)
class Codes:
    """A factorized string column: ``values[codes[i]]`` is record i's value, code -1 when absent."""

    codes: np.ndarray
    values: np.ndarray

    def take(self, positions: np.ndarray) -> np.ndarray:
        """Values at the given record positions as an object array, '' where absent."""
        padded = np.append(self.values, "").astype(object)
        return padded[self.codes[positions]]

    def frequency(self, eligible: np.ndarray) -> np.ndarray:
        """Share of eligible non-null records holding each distinct value (term frequency)."""
        counted = self.codes[eligible & (self.codes >= 0)]
        counts = np.bincount(counted, minlength=len(self.values)).astype(np.float64)
        return counts / max(len(counted), 1)


@dataclass(frozen=True)
class Features:
    """Matching keys of n records, aligned with the records' row order."""

    keys: np.ndarray  # record_key per row
    rank: np.ndarray  # position of each row's record_key in sorted order
    name: Codes  # name_key
    pinyin: Codes  # name_pinyin_sorted
    name_pinyin: Codes  # name_pinyin, surname first when known
    surname: Codes  # first pinyin token of the name
    last_token: Codes  # last pinyin token, in the same code space as ``surname``
    partial: np.ndarray  # 王先生-style: name_key is only the surname
    hanzi: np.ndarray  # name_key is written in Chinese characters
    id_number: Codes  # unmasked id numbers only
    id_masked: np.ndarray
    id_valid: np.ndarray  # well-formed, good check digit, unmasked
    id_type: np.ndarray  # code of the stated (or inferred) id type, -1 when none
    # valid, unmasked, of a type unique per person with a check digit (a CN resident id, the
    # CHECKED_ID_TYPES of mdm/standardize/ids.py): the hard-evidence identifier
    id_checked: np.ndarray
    id17: Codes  # first 17 characters of an unmasked 18-character id
    id_stub: Codes  # first 6 + last 4 characters of an 18-character id, masked or not
    birth_date: Codes  # the date as a key, for its term frequency
    birth_days: np.ndarray  # days since 1970-01-01, NO_DATE when absent
    birth_year: np.ndarray  # from birth_date, else birth_year; 0 when absent
    birth_month: np.ndarray
    birth_day: np.ndarray
    gender: np.ndarray  # 0 = M, 1 = F, -1 = unknown
    birth_digits: Codes  # YYYYMMDD, for a one-keystroke typo
    mobile: Codes
    mobile_digits: Codes  # the mobile's digits sorted: two numbers a transposition apart meet
    phone_other: Codes  # a landline or other number: often a household's
    email: Codes
    email_local: Codes  # the part before the @, lowercase
    address: Codes  # whitespace removed
    house_number: Codes  # the address's numbers (words of digits), in order
    street_words: Codes  # its other words, lowercase, punctuation dropped
    city: Codes  # without the 市 suffix that some channels drop
    postcode: Codes  # uppercase, spaces removed
    given: Codes  # latin names only: lowercase given name (latin.py), "c" for an initial
    family: Codes  # latin names only: lowercase family name
    given_sound: Codes  # NYSIIS code of the given name
    family_sound: Codes  # Metaphone code of the family name

    @property
    def size(self) -> int:
        return len(self.keys)


def column(records: pd.DataFrame, name: str) -> pd.Series:
    """A column, or all-None when the frame lacks it (channels map different fields)."""
    if name in records.columns:
        return records[name]
    return pd.Series(None, index=records.index, dtype=object)


def flag(series: pd.Series) -> np.ndarray:
    """True where a nullable flag column is True; None/NaN count as False."""
    values = pd.array(series.to_numpy(dtype=object), dtype="boolean")
    return np.asarray(values.fillna(False), dtype=bool)


def _factorize(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _distinct_text(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes of a column's distinct stripped texts (blank = absent), and those texts.

    The raw values are factorized first and only the distinct ones are cleaned: hashing a
    column's Python strings is cheap (they cache their hash), converting a million of them to
    Arrow strings for .str is not.
    """
    raw_codes, raw_values = _factorize(series.to_numpy(dtype=object))
    text = pd.Series(raw_values, dtype="string").str.strip()
    sub_codes, uniques = _factorize(text.mask(text == ""))
    return np.append(sub_codes, -1)[raw_codes], pd.Series(uniques, dtype="string")


def _derive(codes: np.ndarray, derived: pd.Series) -> Codes:
    """Codes of a value derived from each distinct value (NA = absent); equal results merge."""
    sub_codes, sub_values = _factorize(derived)
    return Codes(np.append(sub_codes, -1)[codes], sub_values)


def _text_codes(series: pd.Series, clean: Callable[[pd.Series], pd.Series] | None = None) -> Codes:
    codes, text = _distinct_text(series)
    if clean is None:
        return Codes(codes, text.to_numpy(dtype=object))
    return _derive(codes, clean(text))


def _broadcast(codes: np.ndarray, per_value: np.ndarray, absent: Any) -> np.ndarray:
    """A value computed once per distinct value, spread back to the records."""
    return np.append(per_value, absent)[codes]


def _sorted_characters(values: np.ndarray) -> pd.Series:
    """Each string's characters in sorted order, vectorized over a fixed-width unicode array."""
    if len(values) == 0:
        return pd.Series([], dtype=object)
    fixed = np.asarray(values, dtype=str)
    width = fixed.dtype.itemsize // 4
    chars = np.sort(fixed.view(np.uint32).reshape(len(fixed), width), axis=1)
    return pd.Series(np.ascontiguousarray(chars).view(f"<U{width}").ravel(), dtype=object)


def _pinyin_ends(name_pinyin: Codes) -> tuple[Codes, Codes]:
    """First and last pinyin token of each name, coded in one shared vocabulary."""
    tokens = pd.Series(name_pinyin.values, dtype="string").str.split(" ")
    codes, values = _factorize(pd.concat([tokens.str[0], tokens.str[-1]], ignore_index=True))
    first, last = codes[: len(tokens)], codes[len(tokens) :]
    return (
        Codes(_broadcast(name_pinyin.codes, first, -1), values),
        Codes(_broadcast(name_pinyin.codes, last, -1), values),
    )


def _without(codes: Codes, absent: np.ndarray) -> Codes:
    return Codes(np.where(absent, -1, codes.codes), codes.values)


@dataclass(frozen=True)
class BirthFields:
    """A column of birth dates, parsed once per distinct value."""

    date_codes: np.ndarray  # factorized raw values
    parsed: pd.Series  # per distinct raw value: the Timestamp, NaT when unreadable
    date: Codes  # the date as a key, for its term frequency
    days: np.ndarray  # per record: days since 1970-01-01, NO_DATE when absent
    year: np.ndarray  # per record: from birth_date, else birth_year; 0 when absent


def birth_fields(records: pd.DataFrame) -> BirthFields:
    """Birth date and year as the matcher keys them."""
    date_codes, dates = _factorize(column(records, "birth_date"))
    parsed = pd.Series(pd.to_datetime(pd.Series(dates, dtype=object), errors="coerce"))
    date_days = (parsed - pd.Timestamp(0)).dt.days.fillna(NO_DATE).to_numpy(dtype=np.int32)
    stated_year = pd.to_numeric(column(records, "birth_year"), errors="coerce").fillna(0)
    date_year = _broadcast(date_codes, parsed.dt.year.fillna(0).to_numpy(dtype=np.int32), 0)
    return BirthFields(
        date_codes=date_codes,
        parsed=parsed,
        date=_derive(date_codes, pd.Series(date_days).where(date_days != NO_DATE)),
        days=_broadcast(date_codes, date_days, NO_DATE),
        year=np.where(date_year > 0, date_year, stated_year.to_numpy()).astype(np.int32),
    )


def _latin_parts(records: pd.DataFrame, hanzi: np.ndarray) -> tuple[Codes, Codes]:
    """Given and family name of latin-script records: the mapped given_name/family_name columns
    where a channel has them, else the full name split by nameparser. String work runs once per
    distinct value."""
    full_codes, full_text = _distinct_text(column(records, "full_name"))
    split = [latin.split_name(v) for v in full_text.to_numpy(dtype=object)]
    everyone = np.arange(len(records))
    out = []
    for k, field in enumerate(("given_name", "family_name")):
        mapped = _text_codes(
            column(records, field),
            lambda t: pd.Series([latin.clean_part(v) for v in t], dtype=object),
        )
        derived = _derive(full_codes, pd.Series([part[k] for part in split], dtype=object))
        value = np.where(mapped.codes >= 0, mapped.take(everyone), derived.take(everyone))
        out.append(_text_codes(pd.Series(np.where(hanzi, "", value), dtype=object)))
    return out[0], out[1]


def postcode_text(text: pd.Series) -> pd.Series:
    """A postcode as compared: uppercase, spaces removed (wd1 9xx = WD19XX)."""
    return text.str.upper().str.replace(r"\s+", "", regex=True)


def address_text(text: pd.Series) -> pd.Series:
    """An address as keyed: whitespace removed."""
    return text.str.replace(r"\s+", "", regex=True)


def _sound(codes: Codes, encode: Callable[[str], str]) -> Codes:
    return _derive(codes.codes, pd.Series([encode(v) or None for v in codes.values], dtype=object))


def prepare(records: pd.DataFrame) -> Features:
    """Matching keys of standardized records (columns as in mdm.schema; any may be missing)."""
    keys = records.index.to_numpy(dtype=object)
    rank = np.empty(len(keys), dtype=np.int64)
    rank[np.argsort(keys, kind="stable")] = np.arange(len(keys))

    name = _text_codes(column(records, "name_key"))
    is_hanzi = pd.Series(name.values, dtype="string").str.contains(HANZI, regex=True)
    name_pinyin = _text_codes(column(records, "name_pinyin"))
    surname, last_token = _pinyin_ends(name_pinyin)

    masked = flag(column(records, "id_masked"))
    valid = flag(column(records, "id_valid")) & ~masked
    id_codes, id_text = _distinct_text(column(records, "id_number"))
    id_text = id_text.str.upper()
    any_id = _derive(id_codes, id_text)
    id_values = pd.Series(any_id.values, dtype="string")
    long_id = id_values.str.len() == 18
    stub = (id_values.str[:6] + id_values.str[-4:]).where(long_id)
    type_codes, types = _distinct_text(column(records, "id_type"))
    typed_resident = _broadcast(
        type_codes, (types == "CN_RID").to_numpy(bool, na_value=False), True
    )
    typed_checked = _broadcast(
        type_codes,
        types.isin(sorted(CHECKED_ID_TYPES - {"CN_RID"})).to_numpy(bool, na_value=False),
        False,
    )
    looks_resident = id_values.str.fullmatch(_RESIDENT_ID).to_numpy(bool, na_value=False)

    birth = birth_fields(records)
    date_codes, parsed = birth.date_codes, birth.parsed

    gender_codes, genders = _distinct_text(column(records, "gender"))
    gender_values = np.select(
        [genders.str.upper().eq(g).to_numpy(bool, na_value=False) for g in ("M", "F")], [0, 1], -1
    )
    mobile = _text_codes(column(records, "mobile"))
    email = _text_codes(column(records, "email"), lambda t: t.str.lower())
    address_codes, addresses = _distinct_text(column(records, "address"))
    words = addresses.str.lower().str.replace(r"[^\w]+", " ", regex=True).str.split()
    numbers = [" ".join(w for w in ws if w.isdigit()) or None for ws in words]
    street = [" ".join(w for w in ws if not w.isdigit()) or None for ws in words]
    hanzi = _broadcast(name.codes, is_hanzi.to_numpy(bool, na_value=False), False)
    given, family = _latin_parts(records, hanzi)

    return Features(
        keys=keys,
        rank=rank,
        name=name,
        pinyin=_text_codes(column(records, "name_pinyin_sorted")),
        name_pinyin=name_pinyin,
        surname=surname,
        last_token=last_token,
        partial=flag(column(records, "name_is_partial")),
        hanzi=hanzi,
        id_number=_without(any_id, masked),
        id_masked=masked,
        id_valid=valid,
        id_type=type_codes,
        id_checked=valid
        & ((typed_resident & _broadcast(any_id.codes, looks_resident, False)) | typed_checked),
        id17=_without(_derive(any_id.codes, id_values.str[:17].where(long_id)), masked),
        id_stub=_derive(any_id.codes, stub.where(stub.str.fullmatch(r"[0-9X]{10}").fillna(False))),
        birth_date=birth.date,
        birth_days=birth.days,
        birth_year=birth.year,
        birth_month=_broadcast(date_codes, parsed.dt.month.fillna(0).to_numpy(np.int32), 0),
        birth_day=_broadcast(date_codes, parsed.dt.day.fillna(0).to_numpy(np.int32), 0),
        gender=_broadcast(gender_codes, gender_values, -1).astype(np.int8),
        birth_digits=_derive(
            date_codes, pd.Series(parsed.dt.strftime("%Y%m%d"), dtype=object).where(parsed.notna())
        ),
        mobile=mobile,
        mobile_digits=_derive(mobile.codes, _sorted_characters(mobile.values)),
        phone_other=_text_codes(column(records, "phone_other")),
        email=email,
        email_local=_derive(
            email.codes, pd.Series(email.values, dtype="string").str.split("@").str[0]
        ),
        address=_derive(address_codes, address_text(addresses)),
        house_number=_derive(address_codes, pd.Series(numbers, dtype=object)),
        street_words=_derive(address_codes, pd.Series(street, dtype=object)),
        city=_text_codes(column(records, "city"), lambda t: t.str.removesuffix("市")),
        postcode=_text_codes(column(records, "postal_code"), postcode_text),
        given=given,
        family=family,
        given_sound=_sound(given, latin.given_sound),
        family_sound=_sound(family, latin.family_sound),
    )
