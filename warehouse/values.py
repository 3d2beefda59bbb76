"""Values between frames, JSON and columns: dates as ISO text or instants, NaN as null, and
scores compared to a tolerance."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from mdm.standardize.dates import CHINA_TZ
from warehouse.models import Customer


def json_ready(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, NaN as null."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def json_safe(value: Any) -> Any:
    """A nested structure as JSON can hold it (numpy scalars and dates inside dicts and lists)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return json_ready(value)


def db_ready(value: Any) -> Any:
    """A value as a column takes it: NaN/NaT as NULL, numpy scalars as Python ones, and
    timestamps as instants (standardized timestamps are China wall time without a zone)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return as_instant(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def as_instant(moment: dt.datetime) -> dt.datetime:
    """An aware datetime; a naive one is China wall time, the pipeline's convention."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA_TZ)


def column_value(name: str, value: Any) -> Any:
    """A JSON value (ISO text for dates) as the `customer` column `name` holds it."""
    if value is None:
        return None
    python_type = Customer.__table__.c[name].type.python_type
    if python_type is dt.date:
        return dt.date.fromisoformat(str(value))
    if python_type is dt.datetime:
        return dt.datetime.fromisoformat(str(value))
    return python_type(value)


SCORE_TOLERANCE = 1e-9  # quality, match and segment scores: a closer difference is float noise


def same_scores(old: pd.Series, new: pd.Series) -> np.ndarray:
    """same_score over two aligned columns (a null stored score reads as NaN)."""
    return np.isclose(
        pd.to_numeric(old, errors="coerce").to_numpy(dtype=float),
        pd.to_numeric(new, errors="coerce").to_numpy(dtype=float),
        rtol=0,
        atol=SCORE_TOLERANCE,
        equal_nan=True,
    )


def same_score(old: float | None, new: float | None) -> bool:
    """Equal to SCORE_TOLERANCE; a missing score (NaN is stored as NULL) equals a missing one."""
    old_missing = old is None or math.isnan(old)
    new_missing = new is None or math.isnan(new)
    if old_missing or new_missing:
        return old_missing and new_missing
    assert old is not None and new is not None
    return abs(old - new) <= SCORE_TOLERANCE
