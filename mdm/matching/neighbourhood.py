"""The records an incremental run has to look at, found without preparing every record.

An incremental run scores only pairs with a new or changed record (the delta) on one side and
re-clusters only the customers those pairs can reach. Preparing the matching features of a
whole warehouse (a million records) costs more than all of that, so the run first finds, from
cheap codes of the standardized values, every record that shares a blocking key with a delta
record, and every other member of those records' customers; only this neighbourhood is
prepared and matched.

Each blocking rule's key is loosened here to the part that is cheap to compute (the stub of an
ID without the name, a mobile's digits without the surname, raw values without the matcher's
defensive trimming, which standardized values never need), so the neighbourhood holds every
record a rule can pair with a delta record, and whole blocks, so a block too large for a rule is
skipped exactly as a full run skips it.

Term frequencies must still describe the whole warehouse (张伟 is common among all customers,
not among the neighbours), so they are counted here on all records, by the functions
``features.prepare`` uses, in the same value space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np
import pandas as pd

from mdm.matching.blocking import combine
from mdm.matching.features import (
    NO_DATE,
    Codes,
    _factorize,
    _sorted_characters,
    _text_codes,
    birth_fields,
    column,
    flag,
)
from mdm.matching.model import TERM_FREQUENCY


@dataclass(frozen=True)
class Neighbourhood:
    """Which records to match, and the whole warehouse's value shares for term frequencies."""

    members: np.ndarray  # bool per record
    shares: dict[str, pd.Series]  # Features field -> share of records per (normalized) value
    # rule -> records in a block of that rule too large to enumerate: part of such a block may
    # be in the neighbourhood through other keys, where it would look small enough
    oversized: dict[str, np.ndarray]


def find_neighbourhood(
    records: pd.DataFrame, is_delta: np.ndarray, max_block_size: int
) -> Neighbourhood:
    """The delta and every record sharing a blocking key with a delta record.

    A key that is exactly a rule's (mobile, email, the name keys) skips blocks larger than
    ``max_block_size``, as the rule does; a loosened one (IDs) keeps every block whole.
    """
    name = _text_codes(column(records, "name_key"))
    pinyin = _text_codes(column(records, "name_pinyin_sorted"))
    city = _text_codes(column(records, "city"), lambda t: t.str.removesuffix("市"))
    birth = birth_fields(records)
    ids, id_values = _raw_codes(records, "id_number")
    mobiles, mobile_values = _raw_codes(records, "mobile")
    emails, _ = _raw_codes(records, "email")
    pinyin_order, pinyin_values = _raw_codes(records, "name_pinyin")
    partial = flag(column(records, "name_is_partial"))  # 王先生: blocked by no name rule
    full_name, full_pinyin = np.where(partial, -1, name.codes), np.where(partial, -1, pinyin.codes)
    surname = _derived(pinyin_order, _first_tokens(pinyin_values))
    birth_days = np.where(birth.days == NO_DATE, -1, birth.days.astype(np.int64) - NO_DATE)
    id17, stub = _id_parts(id_values)
    loosened = (ids, _derived(ids, id17), _derived(ids, stub))
    exact = {  # blocking rule -> its key
        "mobile": mobiles,
        "mobile_digits_surname": combine(
            _derived(mobiles, _sorted_characters(mobile_values).to_numpy()), surname
        ),
        "email": emails,
        "name_birth_year": combine(
            full_pinyin, np.where(birth.year > 0, birth.year.astype(np.int64), -1)
        ),
        "name_city": combine(full_name, city.codes),
        "surname_birth_date": combine(surname, birth_days),
    }
    near = is_delta.copy()
    for key in loosened:
        near |= _sharing(key, is_delta)
    oversized = {}
    for rule, key in exact.items():
        sharing, oversized[rule] = _sharing(key, is_delta, limit=max_block_size)
        near |= sharing

    population = {"name": name, "pinyin": pinyin, "birth_date": birth.date, "city": city}
    shares = {
        field: _shares(population[field], ~partial if comparison == "name" else None)
        for (comparison, _), field in TERM_FREQUENCY.items()
    }
    return Neighbourhood(members=near, shares=shares, oversized=oversized)


def _raw_codes(records: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a column's values as stored: hashing is cheap, cleaning a million values not."""
    return _factorize(column(records, name).to_numpy(dtype=object))


def _derived(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Codes of a key derived per distinct value (``values``, None: no key), per record."""
    sub_codes, _ = _factorize(values)
    return np.append(sub_codes, -1)[ids]


def _first_tokens(values: np.ndarray) -> np.ndarray:
    return np.array([str(value).split(" ")[0] for value in values], dtype=object)


def _id_parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct ID: its first 17 characters and its stub (first 6 + last 4), None unless
    it has 18 characters, as features.prepare keys them."""
    ids = [str(value) for value in values]  # plain loops: pandas' .str is slower on objects
    id17 = [text[:17] if len(text) == 18 else None for text in ids]
    stub = [text[:6] + text[-4:] if len(text) == 18 else None for text in ids]
    return np.array(id17, dtype=object), np.array(stub, dtype=object)


@overload
def _sharing(key: np.ndarray, chosen: np.ndarray) -> np.ndarray: ...
@overload
def _sharing(
    key: np.ndarray, chosen: np.ndarray, *, limit: int
) -> tuple[np.ndarray, np.ndarray]: ...
def _sharing(
    key: np.ndarray, chosen: np.ndarray, *, limit: int | None = None
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Records whose key (-1: none) some chosen record also holds; with a ``limit``, only in
    blocks of at most that many records, and also which records are in larger blocks."""
    dense, _ = pd.factorize(key, use_na_sentinel=True)  # combined keys span huge ranges
    dense = np.where(key >= 0, dense, -1)
    held = np.zeros(int(dense.max(initial=-1)) + 2, dtype=bool)  # the last slot: no key
    held[dense[chosen & (dense >= 0)]] = True
    held[-1] = False
    if limit is None:
        return held[dense]
    large = np.bincount(dense[dense >= 0], minlength=len(held)) > limit
    large[-1] = False
    return (held & ~large)[dense], large[dense]


def _shares(codes: Codes, counted: np.ndarray | None) -> pd.Series:
    """Share of the counted records holding each value, indexed by value (Codes.frequency)."""
    eligible = np.ones(len(codes.codes), dtype=bool) if counted is None else counted
    return pd.Series(codes.frequency(eligible), index=pd.Index(codes.values, dtype=object))
