"""The records an incremental run has to look at, found from stored keys without preparing them.

An incremental run scores only pairs with a new or changed record (the delta) on one side and
re-clusters only the customers those pairs can reach. Preparing the matching features of a
whole warehouse (a million records) costs more than all of that, so the run first finds, from
each record's stored key hashes (keys.py), every record that shares a blocking key with a delta
record, and every other member of those records' customers; only this neighbourhood is
prepared and matched.

Term frequencies must still describe the whole warehouse (张伟 is common among all customers,
not among the neighbours), so the shares of each name, birth date and city are counted here on
all records' value hashes; or, when the caller read only the neighbourhood (from indexed keys
and a table of value counts, warehouse/delta_state.py), given as a ``Population``: the shares
of the values the part holds, the sums of squares of all shares, and the size of every block
the delta holds a key of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import overload

import numpy as np
import pandas as pd

from mdm.matching.arrays import isin
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
    # Features field -> sum of the squared shares of every value (None: of ``shares``)
    square_sums: dict[str, float] | None = None


@dataclass(frozen=True)
class Population:
    """The whole warehouse (this run's records in it) as seen from a part of it."""

    shares: dict[str, pd.Series]  # field -> share by value hash, at least of the part's values
    square_sums: dict[str, float]  # field -> sum of the squared shares of all values
    # rule -> records holding each key value (by hash) that a delta record holds
    block_sizes: dict[str, pd.Series]


def find_neighbourhood(
    keys: pd.DataFrame,
    is_delta: np.ndarray,
    max_block_size: int,
    population: Population | None = None,
) -> Neighbourhood:
    """The delta and every record sharing a blocking key with a delta record.

    ``keys``: KEY_COLUMNS per record, in the records' order. A rule's own key skips blocks
    larger than ``max_block_size``, as the rule does; a loosened one (IDs) keeps every block.
    ``population``: when ``keys`` are those of a part of the warehouse that holds the whole
    neighbourhood, how large the blocks and how common the values are in all of it.
    """
    missing = set(KEY_COLUMNS) - set(keys.columns)
    if missing:
        raise ValueError(f"keys lack {sorted(missing)}")
    near = is_delta.copy()
    for name in LOOSE_KEYS:
        near |= _sharing(keys[name].to_numpy(), is_delta)
    oversized = {}
    for rule in RULE_KEYS:
        sizes = population.block_sizes[rule] if population is not None else None
        sharing, oversized[rule] = _sharing(
            keys[rule].to_numpy(), is_delta, limit=max_block_size, sizes=sizes
        )
        near |= sharing
    if population is not None:
        return Neighbourhood(near, population.shares, oversized, population.square_sums)
    shares = {field: _shares(keys[f"value_{field}"].to_numpy()) for field in VALUE_FIELDS}
    return Neighbourhood(members=near, shares=shares, oversized=oversized)


@overload
def _sharing(key: np.ndarray, chosen: np.ndarray) -> np.ndarray: ...
@overload
def _sharing(
    key: np.ndarray, chosen: np.ndarray, *, limit: int, sizes: pd.Series | None = None
) -> tuple[np.ndarray, np.ndarray]: ...
def _sharing(
    key: np.ndarray, chosen: np.ndarray, *, limit: int | None = None, sizes: pd.Series | None = None
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Records whose key (0: none) some chosen record also holds; with a ``limit``, only in
    blocks of at most that many records, and also which records are in the larger of those
    blocks (a block no chosen record holds is never enumerated, so its size does not matter).
    ``sizes``: each held value's block size in the whole warehouse, when ``key`` is a part."""
    held = np.unique(key[chosen & (key != 0)])
    sharing = isin(key, held) & (key != 0)
    if limit is None:
        return sharing
    if sizes is None:
        values, counts = np.unique(key[sharing], return_counts=True)
    else:
        values, counts = sizes.index.to_numpy(), sizes.to_numpy()
    large = isin(key, values[counts > limit])
    return sharing & ~large, large


def _shares(values: np.ndarray) -> pd.Series:
    """Share of the records with a value (hash != 0) holding each value, indexed by hash."""
    counts = pd.Series(values[values != 0]).value_counts(sort=False)
    return counts / max(int(counts.sum()), 1)
