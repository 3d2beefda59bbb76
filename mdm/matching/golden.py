"""Golden records: one per cluster by survivorship (mdm/matching/survive.py), with where each
field came from, a steward's chosen values on top, and how complete each record is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.engine import MatchResult
from mdm.matching.survive import survive
from mdm.schema import GOLDEN_FIELDS

# Fields whose presence makes a customer file complete enough to serve [000 Q8, 003 basic info].
QUALITY_FIELDS = ("full_name", "id_number", "mobile", "birth_date", "address", "risk_level")


@dataclass(frozen=True)
class FieldOverride:
    """A golden field value a steward chose or corrected (steward_decision `decision_id`)."""

    value: Any
    decision_id: int


def golden_records(
    records: pd.DataFrame,
    clusters: pd.Series,
    id_of: pd.Series,
    overrides: dict[str, dict[str, FieldOverride]],
) -> pd.DataFrame:
    """One golden record per cluster of ``records``, indexed by the customer id ``id_of`` gives
    its label: GOLDEN_FIELDS, count_sources, field_sources (field -> record key), quality_score."""
    golden, chosen_sources = survive(records, clusters)
    golden = golden[list(GOLDEN_FIELDS)].copy()
    golden["count_sources"] = clusters.value_counts().reindex(golden.index).astype(int)
    sources = chosen_sources.reindex(golden.index)
    names = list(sources.columns)
    golden["field_sources"] = [  # zip over columns: to_dict("records") boxes every cell slowly
        {name: key for name, key in zip(names, row, strict=True) if key is not None}
        for row in zip(*(sources[name].to_numpy(dtype=object) for name in names), strict=True)
    ]
    golden.index = golden.index.map(id_of)
    golden.index.name = "customer_id"
    golden = apply_overrides(golden, overrides)
    golden["quality_score"] = quality_score(golden)
    return golden


def record_scores(result: MatchResult) -> pd.Series:
    """For each record, the strongest merge edge that holds it in its customer (1.0 alone)."""
    clusters = result.clusters
    scores = np.ones(len(clusters))
    pairs = result.pairs
    merged = pairs.loc[
        (pairs["decision"] == "match").to_numpy(), ["left_key", "right_key", "match_probability"]
    ]
    # By row position: one lookup per side, then a group-by on integers rather than on keys.
    left = clusters.index.get_indexer(merged["left_key"])
    right = clusters.index.get_indexer(merged["right_key"])
    labels = clusters.to_numpy()
    same = (left >= 0) & (right >= 0)  # an incremental run's pairs reach unaffected records
    same[same] = labels[left[same]] == labels[right[same]]
    probability = merged["match_probability"].to_numpy()[same]
    both = pd.Series(np.r_[probability, probability])
    strongest = both.groupby(np.r_[left[same], right[same]]).max()
    scores[strongest.index.to_numpy()] = strongest.to_numpy()
    return pd.Series(scores, index=clusters.index)


def quality_score(golden: pd.DataFrame) -> pd.Series:
    """Share of the key fields that are filled (0..1)."""
    filled = golden[list(QUALITY_FIELDS)].notna().astype(float)
    return filled.mean(axis=1).round(3)


def apply_overrides(
    golden: pd.DataFrame, overrides: dict[str, dict[str, FieldOverride]]
) -> pd.DataFrame:
    """A steward's chosen or corrected value beats survivorship, on this run and every later one.

    Overrides of customers that no longer exist (merged away) are left unapplied.
    """
    golden = golden.copy()
    for customer_id, fields in overrides.items():
        if customer_id not in golden.index:
            continue
        for name, override in fields.items():
            if golden[name].dtype != object:  # a date or text in a float/str column
                golden[name] = golden[name].astype(object)
            golden.at[customer_id, name] = override.value
            golden.at[customer_id, "field_sources"] = {
                **golden.at[customer_id, "field_sources"],
                name: f"steward:{override.decision_id}",
            }
    return golden
