"""Survivorship: one golden record per cluster, each field from the source that ranks best for it.

A rule ranks a cluster's records by criteria, best first; the field takes the best-ranked record
holding a value. Fields that only make sense together (id_type with id_number, the risk date with
the risk level) follow their leader's record instead of ranking on their own. Ranking sorts all
records once per distinct rule, so a million records cost a few sorts, not a loop per cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.arrays import run_starts
from mdm.matching.features import HANZI, column, flag
from mdm.schema import GOLDEN_FIELDS


@dataclass(frozen=True)
class FieldRule:
    """Rank records by ``rank_by`` (names in CRITERIA, best first), or copy ``follows``' record."""

    rank_by: tuple[str, ...] = ()
    follows: str | None = None


def _timestamp(series: pd.Series) -> np.ndarray:
    """Seconds since the epoch of a date/datetime column, absent values -inf (never the newest)."""
    stamps = pd.to_datetime(series, errors="coerce", utc=True)
    seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    return seconds.fillna(-np.inf).to_numpy(dtype=np.float64)


def _present(series: pd.Series) -> np.ndarray:
    # Standardization turns blank text into a missing value, so "present" is simply not null.
    return series.notna().to_numpy()


def _completeness(records: pd.DataFrame) -> np.ndarray:
    fields = [f for f in GOLDEN_FIELDS if f in records.columns]
    return (
        np.sum([_present(records[f]) for f in fields], axis=0) if fields else np.zeros(len(records))
    )


def _valid_id(records: pd.DataFrame) -> np.ndarray:
    masked = flag(column(records, "id_masked"))
    valid = flag(column(records, "id_valid"))
    return np.select([valid & ~masked, ~masked], [2, 1], 0)


# Criteria: higher is better.
CRITERIA: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    "trust": lambda r: pd.to_numeric(column(r, "trust"), errors="coerce").fillna(-1).to_numpy(),
    "recency": lambda r: _timestamp(column(r, "source_updated_at")),
    "completeness": _completeness,
    "valid_id": _valid_id,  # valid > unmasked but invalid > masked
    "risk_recency": lambda r: _timestamp(column(r, "risk_assessed_on")),
    "whole_name": lambda r: (~flag(column(r, "name_is_partial"))).astype(np.int8),
}

DEFAULT_RULE = FieldRule(("trust", "recency", "completeness"))
CONTACT_RULE = FieldRule(("recency", "trust", "completeness"))
DEFAULT_RULES: dict[str, FieldRule] = {
    "id_number": FieldRule(("valid_id", "trust", "recency", "completeness")),
    "id_type": FieldRule(follows="id_number"),
    "mobile": CONTACT_RULE,
    "email": CONTACT_RULE,
    "address": CONTACT_RULE,
    "risk_level": FieldRule(("risk_recency", "trust", "recency")),
    "risk_assessed_on": FieldRule(follows="risk_level"),
    "full_name": FieldRule(("whole_name", "trust", "recency", "completeness")),
    "family_name": FieldRule(follows="full_name"),
    "given_name": FieldRule(follows="full_name"),
}


def _chosen_positions(
    records: pd.DataFrame,
    clusters: np.ndarray,
    n_clusters: int,
    rules: Mapping[str, FieldRule],
) -> dict[str, np.ndarray]:
    """Per golden field: the position of the record it survives from in each cluster (-1 none)."""
    criteria: dict[str, np.ndarray] = {}
    orders: dict[tuple[str, ...], np.ndarray] = {}
    key_rank = np.argsort(np.argsort(records.index.to_numpy(dtype=object), kind="stable"))
    chosen: dict[str, np.ndarray] = {}
    for field in GOLDEN_FIELDS:
        rule = rules.get(field, DEFAULT_RULE)
        if rule.follows is not None:
            continue
        if rule.rank_by not in orders:
            for name in rule.rank_by:
                if name not in criteria:
                    criteria[name] = CRITERIA[name](records)
            # lexsort's last key is primary: cluster, then each criterion descending, then key.
            keys = [key_rank] + [-criteria[n] for n in reversed(rule.rank_by)] + [clusters]
            orders[rule.rank_by] = np.lexsort(keys)
        order = orders[rule.rank_by]
        holders = order[_present(column(records, field))[order]]
        first = holders[run_starts(clusters[holders])]  # holders run cluster by cluster
        positions = np.full(n_clusters, -1, dtype=np.int64)
        positions[clusters[first]] = first
        chosen[field] = positions
    for field in GOLDEN_FIELDS:
        leader = rules.get(field, DEFAULT_RULE).follows
        if leader is not None:
            chosen[field] = chosen[leader]
    return chosen


def survive(
    records: pd.DataFrame,
    clusters: pd.Series,
    rules: Mapping[str, FieldRule] = DEFAULT_RULES,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Golden records and their lineage, both indexed by cluster label.

    ``golden`` has the GOLDEN_FIELDS columns (dtypes kept); ``lineage`` has, per golden field,
    the record_key the value came from (None where no source had one).
    """
    codes, uniques = pd.factorize(clusters.reindex(records.index).to_numpy(dtype=object), sort=True)
    chosen = _chosen_positions(records, codes, len(uniques), rules)
    index = pd.Index(uniques, name="cluster", dtype=object)
    keys = np.append(records.index.to_numpy(dtype=object), np.array([None], dtype=object))
    golden = pd.DataFrame(
        {
            field: pd.api.extensions.take(
                column(records, field).array, chosen[field], allow_fill=True
            )
            for field in GOLDEN_FIELDS
        },
        index=index,
    )
    lineage = pd.DataFrame(
        {field: keys[chosen[field]] for field in GOLDEN_FIELDS}, index=index, dtype=object
    )
    return golden, lineage


def _value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _disputed(cluster: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rows taking part (key >= 0) in a cluster that holds two or more distinct keys."""
    held = key >= 0
    span = int(key.max(initial=0)) + 1
    distinct = np.unique(cluster[held] * span + key[held])
    clusters, counts = np.unique(distinct // span, return_counts=True)
    return held & np.isin(cluster, clusters[counts > 1])


def _codes(series: pd.Series) -> np.ndarray:
    return pd.factorize(series, use_na_sentinel=True)[0].astype(np.int64)


def _name_key(records: pd.DataFrame, cluster: np.ndarray) -> np.ndarray:
    """Per record, a code for the name it stands for; -1 when it cannot disagree.

    Partial names (王先生) are skipped; a pinyin-only name is skipped when some name in
    characters in its cluster reads the same, else it counts by its sorted pinyin.
    """
    names, name_values = pd.factorize(column(records, "name_key"), use_na_sentinel=True)
    is_hanzi = pd.Series(name_values, dtype="string").str.contains(HANZI, regex=True)
    hanzi = np.append(is_hanzi.to_numpy(bool, na_value=False), False)[names]
    pinyin = _codes(column(records, "name_pinyin_sorted"))
    whole = ~flag(column(records, "name_is_partial")) & (names >= 0)
    span = int(pinyin.max(initial=0)) + 1
    spoken = cluster * span + pinyin
    read_by_hanzi = (pinyin >= 0) & np.isin(spoken, spoken[whole & hanzi & (pinyin >= 0)])
    latin = whole & ~hanzi & ~read_by_hanzi
    return np.select(
        [whole & hanzi, latin & (pinyin >= 0), latin],
        [names, len(name_values) + pinyin, len(name_values) + span + names],
        -1,
    )


def find_conflicts(records: pd.DataFrame, clusters: pd.Series) -> list[dict[str, Any]]:
    """Clusters whose sources disagree on a critical field (SPEC §4), for `conflict` tasks.

    Each item: {cluster, field, values: [{value, record_key, source_system}]}, listing every
    record that takes part in the disagreement; dates as ISO strings.
    """
    labels = clusters.reindex(records.index).to_numpy(dtype=object)
    cluster, _ = pd.factorize(labels)
    valid_id = _valid_id(records) == 2
    gender = column(records, "gender")
    keys = {
        "id_number": np.where(valid_id, _codes(column(records, "id_number")), -1),
        "birth_date": _codes(column(records, "birth_date")),
        "gender": _codes(gender.where(gender.isin(["M", "F"]))),
        "full_name": _name_key(records, cluster),
    }
    record_keys = records.index.to_numpy(dtype=object)
    sources = column(records, "source_system").to_numpy(dtype=object)
    found: list[dict[str, Any]] = []
    for field, key in keys.items():
        rows = np.flatnonzero(_disputed(cluster, key))
        if len(rows) == 0:
            continue
        rows = rows[np.argsort(cluster[rows], kind="stable")]
        shown = column(records, field).to_numpy(dtype=object)
        for group in np.split(rows, run_starts(cluster[rows])[1:]):
            found.append(
                {
                    "cluster": labels[group[0]],
                    "field": field,
                    "values": [
                        {
                            "value": _value(shown[i]),
                            "record_key": record_keys[i],
                            "source_system": sources[i],
                        }
                        for i in group.tolist()
                    ],
                }
            )
    order = list(keys)
    return sorted(found, key=lambda c: (str(c["cluster"]), order.index(c["field"])))
