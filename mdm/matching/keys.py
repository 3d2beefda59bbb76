"""Stable hashes of each record's blocking keys and term-frequency values, stored with the record.

An incremental run must find every stored record that shares a blocking key with a new or
changed record, and know how common each name, birth date and city is among all records.
Computing those keys from the text of a million stored records costs more than matching the
delta itself, so a record's keys are hashed once, when a run first matches it, and stored with
it (``source_record.match_keys``). A later run reads them back as integers and only compares.

A key is a 64-bit hash (pandas' SipHash with its fixed key: the same in every process and on
every machine) of the value's text; 0 means no key. Two different values sharing a hash (about
one chance in 10^7 among a million values) can only add records to a neighbourhood, or count
one value's records under another's share.

Each blocking rule's key is loosened here to the part that is cheap to compute (the stub of an
ID without the name, a mobile's digits without the matcher's trimming, which standardized values
never need), so the records sharing a key with a delta record include every record a rule can
pair with it. Rules whose key is computed exactly keep their name, so that a block too large
for the rule is skipped exactly as a full run skips it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mdm.matching import latin
from mdm.matching.features import (
    HANZI,
    NO_DATE,
    Codes,
    Features,
    _broadcast,
    _factorize,
    _latin_parts,
    _sorted_characters,
    _sound,
    _text_codes,
    address_text,
    birth_fields,
    column,
    flag,
    postcode_text,
)

# Bump when a key's definition changes: stored keys of another scheme are recomputed on read.
KEY_SCHEME = 3
# ID forms that cover the ID rules loosely (no name or validity check): their blocks are kept
# whole, however large, as the rules' own keys may split them.
LOOSE_KEYS = ("id_number", "id17", "id_stub")
# Exactly the key of the blocking rule of that name.
RULE_KEYS = (
    "mobile",
    "mobile_digits_surname",
    "email",
    "name_birth_year",
    "name_city",
    "surname_birth_date",
    "birth_date_city",
    "address",
    "family_sound_city",
    "latin_name_birth_date",
    "latin_name_sound",
    "postcode_family_sound",
)
# Features fields whose values' shares among all records are term frequencies (model.py).
VALUE_FIELDS = ("name", "pinyin", "birth_date", "city")
KEY_COLUMNS = (*LOOSE_KEYS, *RULE_KEYS, *(f"value_{field}" for field in VALUE_FIELDS))


def hash_values(values: np.ndarray | pd.Series) -> np.ndarray:
    """A stable int64 hash of each value's text; 0 (no key) for a missing value."""
    values = np.asarray(values)
    missing = pd.isna(values)
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    hashed = pd.util.hash_array(_texts(values, missing)).view(np.int64)
    return np.where(missing, 0, np.where(hashed == 0, 1, hashed))


def _texts(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Each value's text ('' where missing) as Python strings; str() runs per value only when
    some value is not a string already (a million of them took seconds)."""
    if values.dtype.kind in "iu":
        return values.astype(str).astype(object)
    objects = values.astype(object)
    if pd.api.types.infer_dtype(objects, skipna=True) in ("string", "empty"):
        return np.where(missing, "", objects)
    text = ["" if gone else str(v) for v, gone in zip(objects, missing, strict=True)]
    return np.array(text).astype(object)


def _spread(codes: np.ndarray, values: np.ndarray | pd.Series) -> np.ndarray:
    """Per record, the hash of its value: each distinct value is hashed once (code -1: 0)."""
    return _broadcast(codes, hash_values(values), 0)


def _joint(*parts: np.ndarray) -> np.ndarray:
    """One hash of several; 0 when any part is 0."""
    frame = pd.DataFrame({str(i): part for i, part in enumerate(parts)})
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy().view(np.int64)
    present = np.logical_and.reduce([part != 0 for part in parts])
    return np.where(present, np.where(hashed == 0, 1, hashed), 0)


def _raw_codes(records: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a column's values as stored: hashing is cheap, cleaning a million values not."""
    return _factorize(column(records, name).to_numpy(dtype=object))


def _first_tokens(values: np.ndarray) -> np.ndarray:
    return np.array([str(value).split(" ")[0] for value in values], dtype=object)


def _id_parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct ID: its first 17 characters and its stub (first 6 + last 4), None unless
    it has 18 characters, as features.prepare keys them."""
    ids = [str(value) for value in values]  # plain loops: pandas' .str is slower on objects
    id17 = [text[:17] if len(text) == 18 else None for text in ids]
    stub = [text[:6] + text[-4:] if len(text) == 18 else None for text in ids]
    return np.array(id17, dtype=object), np.array(stub, dtype=object)


def _ints(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    return np.where(present, hash_values(values.astype(np.int64)), 0)


@dataclass(frozen=True)
class _Shared:
    """The fields the keys hash as features.prepare computes them, named as in Features."""

    name: Codes
    pinyin: Codes
    city: Codes
    postcode: Codes
    address: Codes
    birth_date: Codes
    birth_days: np.ndarray
    birth_year: np.ndarray
    given_sound: Codes
    family_sound: Codes


def _shared(records: pd.DataFrame) -> _Shared:
    """The fields of _Shared, for a caller that has no Features of the records."""
    name = _text_codes(column(records, "name_key"))
    hanzi = pd.Series(name.values, dtype="string").str.contains(HANZI, regex=True)
    given, family = _latin_parts(
        records, _broadcast(name.codes, hanzi.to_numpy(bool, na_value=False), False)
    )
    birth = birth_fields(records)
    return _Shared(
        name=name,
        pinyin=_text_codes(column(records, "name_pinyin_sorted")),
        city=_text_codes(column(records, "city"), lambda t: t.str.removesuffix("市")),
        postcode=_text_codes(column(records, "postal_code"), postcode_text),
        address=_text_codes(column(records, "address"), address_text),
        birth_date=birth.date,
        birth_days=birth.days,
        birth_year=birth.year,
        given_sound=_sound(given, latin.given_sound),
        family_sound=_sound(family, latin.family_sound),
    )


def record_keys(records: pd.DataFrame, features: Features | None = None) -> pd.DataFrame:
    """KEY_COLUMNS of each record (int64, 0 = none), indexed like ``records``.

    ``features``: features.prepare(records), when the caller has them (a first run matches
    exactly the records it keys): the names, cities, birth dates and latin name parts they hold
    are hashed as they are, not computed again (the name parts are half of either's time).
    """
    shared = features if features is not None else _shared(records)
    name, pinyin, city = shared.name, shared.pinyin, shared.city
    ids, id_values = _raw_codes(records, "id_number")
    mobiles, mobile_values = _raw_codes(records, "mobile")
    emails, email_values = _raw_codes(records, "email")
    pinyin_order, pinyin_values = _raw_codes(records, "name_pinyin")
    partial = flag(column(records, "name_is_partial"))  # 王先生: blocked by no name rule
    name_hash = np.where(partial, 0, _spread(name.codes, name.values))
    pinyin_hash = np.where(partial, 0, _spread(pinyin.codes, pinyin.values))
    city_hash = _spread(city.codes, city.values)
    surname = _spread(pinyin_order, _first_tokens(pinyin_values))
    birth_year = _ints(shared.birth_year, shared.birth_year > 0)
    birth_days = _ints(shared.birth_days, shared.birth_days != NO_DATE)
    id17, stub = _id_parts(id_values)
    mobile_digits = _spread(mobiles, _sorted_characters(mobile_values).to_numpy())
    address, postcode = shared.address, shared.postcode
    family_hash = _spread(shared.family_sound.codes, shared.family_sound.values)
    given_hash = _spread(shared.given_sound.codes, shared.given_sound.values)
    keys = {
        "id_number": _spread(ids, id_values),
        "id17": _spread(ids, id17),
        "id_stub": _spread(ids, stub),
        "mobile": _spread(mobiles, mobile_values),
        "mobile_digits_surname": _joint(mobile_digits, surname),
        "email": _spread(emails, email_values),
        "name_birth_year": _joint(pinyin_hash, birth_year),
        "name_city": _joint(name_hash, city_hash),
        "surname_birth_date": _joint(surname, birth_days),
        "birth_date_city": _joint(birth_days, city_hash),
        "address": _spread(address.codes, address.values),
        "family_sound_city": _joint(family_hash, city_hash),
        "latin_name_birth_date": _joint(given_hash, family_hash, birth_days),
        "latin_name_sound": _joint(given_hash, family_hash),
        "postcode_family_sound": _joint(_spread(postcode.codes, postcode.values), family_hash),
        "value_name": name_hash,
        "value_pinyin": pinyin_hash,
        "value_birth_date": _spread(shared.birth_date.codes, shared.birth_date.values),
        "value_city": city_hash,
    }
    return pd.DataFrame(keys, index=records.index, columns=list(KEY_COLUMNS), dtype=np.int64)


def to_bytes(keys: pd.DataFrame) -> list[bytes]:
    """Each record's keys as stored: the scheme, then KEY_COLUMNS, as little-endian int64."""
    matrix = np.empty((len(keys), len(KEY_COLUMNS) + 1), dtype="<i8")
    matrix[:, 0] = KEY_SCHEME
    matrix[:, 1:] = keys[list(KEY_COLUMNS)].to_numpy(dtype=np.int64)
    return [row.tobytes() for row in matrix]


def from_bytes(stored: list[bytes | None], index: pd.Index) -> tuple[pd.DataFrame, np.ndarray]:
    """Stored keys back into a frame, and which records have none of the current scheme (their
    rows are zeros here and must be recomputed)."""
    width = (len(KEY_COLUMNS) + 1) * 8
    usable = np.array(
        [
            blob is not None
            and len(blob) == width
            and int.from_bytes(blob[:8], "little", signed=True) == KEY_SCHEME
            for blob in stored
        ],
        dtype=bool,
    )
    empty = bytes(width)
    flat = b"".join(
        blob if ok and blob is not None else empty for blob, ok in zip(stored, usable, strict=True)
    )
    matrix = np.frombuffer(flat, dtype="<i8").reshape(len(stored), len(KEY_COLUMNS) + 1)
    frame = pd.DataFrame(matrix[:, 1:].astype(np.int64), index=index, columns=list(KEY_COLUMNS))
    return frame, ~usable
