"""The records an incremental run has to look at, found from stored keys without preparing them.

An incremental run scores only pairs with a new or changed record (the delta) on one side and
re-clusters only the customers those pairs can reach. Preparing the matching features of a
whole warehouse (a million records) costs more than all of that, so the run first finds, from
each record's stored key hashes (keys.py), every record that shares a blocking key with a delta
record, and every other member of those records' customers; only this neighbourhood is
prepared and matched.

Term frequencies must still describe the whole warehouse (张伟 is common among all customers,
not among the neighbours), so the shares of each name, birth date and city are counted here on
all records' value hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np
import pandas as pd

from mdm.matching.keys import KEY_COLUMNS, LOOSE_KEYS, RULE_KEYS, VALUE_FIELDS


@dataclass(frozen=True)
class Neighbourhood:
    """Which records to match, and the whole warehouse's value shares for term frequencies."""

    members: np.ndarray  # bool per record
    # Features field -> share of the records holding each value, indexed by the value's hash
    shares: dict[str, pd.Series]
    # rule -> records in a block of that rule too large to enumerate: part of such a block may
    # be in the neighbourhood through other keys, where it would look small enough
    oversized: dict[str, np.ndarray]


def find_neighbourhood(
    keys: pd.DataFrame, is_delta: np.ndarray, max_block_size: int
) -> Neighbourhood:
    """The delta and every record sharing a blocking key with a delta record.

    ``keys``: KEY_COLUMNS per record, in the records' order. A rule's own key skips blocks
    larger than ``max_block_size``, as the rule does; a loosened one (IDs) keeps every block.
    """
    missing = set(KEY_COLUMNS) - set(keys.columns)
    if missing:
        raise ValueError(f"keys lack {sorted(missing)}")
    near = is_delta.copy()
    for name in LOOSE_KEYS:
        near |= _sharing(keys[name].to_numpy(), is_delta)
    oversized = {}
    for rule in RULE_KEYS:
        sharing, oversized[rule] = _sharing(keys[rule].to_numpy(), is_delta, limit=max_block_size)
        near |= sharing
    shares = {field: _shares(keys[f"value_{field}"].to_numpy()) for field in VALUE_FIELDS}
    return Neighbourhood(members=near, shares=shares, oversized=oversized)


@overload
def _sharing(key: np.ndarray, chosen: np.ndarray) -> np.ndarray: ...
@overload
def _sharing(
    key: np.ndarray, chosen: np.ndarray, *, limit: int
) -> tuple[np.ndarray, np.ndarray]: ...
def _sharing(
    key: np.ndarray, chosen: np.ndarray, *, limit: int | None = None
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Records whose key (0: none) some chosen record also holds; with a ``limit``, only in
    blocks of at most that many records, and also which records are in the larger of those
    blocks (a block no chosen record holds is never enumerated, so its size does not matter)."""
    held = np.unique(key[chosen & (key != 0)])
    sharing = _isin(key, held) & (key != 0)
    if limit is None:
        return sharing
    values, counts = np.unique(key[sharing], return_counts=True)
    large = _isin(key, values[counts > limit])
    return sharing & ~large, large


def _isin(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """np.isin by a hash table: a quarter of np.isin's time for a million keys."""
    return pd.Series(values, copy=False).isin(wanted).to_numpy()


def _shares(values: np.ndarray) -> pd.Series:
    """Share of the records with a value (hash != 0) holding each value, indexed by hash."""
    counts = pd.Series(values[values != 0]).value_counts(sort=False)
    return counts / max(int(counts.sum()), 1)
