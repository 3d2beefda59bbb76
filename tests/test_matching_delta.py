"""match_delta: new records matched against a clustered population with a saved model."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers.matching_data import labelled_records, synthetic_records

from mdm.matching import MatchSettings, fits, match_delta, match_records
from mdm.testbed.evaluate import pairwise_scores

SETTINGS = MatchSettings(u_sample_pairs=300_000)


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return pd.concat([labelled_records(), synthetic_records(1200, seed=3)])


def test_new_records_join_their_people_and_no_one_else_moves(population: pd.DataFrame) -> None:
    records = population.drop(columns="entity")
    new = records.sample(n=60, random_state=1)
    base = records.drop(new.index)
    full = match_records(base, settings=SETTINGS)
    customer_of = "C" + full.clusters.astype(str)
    assert fits(full.parameters)

    result = match_delta(
        records,
        delta=new.index,
        customer_of=customer_of,
        parameters=full.parameters,
        settings=SETTINGS,
    )

    # every new record is clustered; untouched records are left out of the result
    assert set(new.index) <= set(result.clusters.index) < set(records.index)
    pairs = result.pairs
    assert (pairs["left_key"].isin(new.index) | pairs["right_key"].isin(new.index)).all()
    # an unchanged record never leaves the customer it shared with another unchanged record
    kept = customer_of.reindex(result.clusters.index).dropna()
    labels = result.clusters.loc[kept.index]
    assert (labels.groupby(kept).nunique() == 1).all()
    # and the merged population is about as good as a full run on everything
    after = customer_of.reindex(records.index)
    after.loc[result.clusters.index] = "D" + result.clusters  # re-clustered customers
    quality = pairwise_scores(after, population["entity"])
    reference = match_records(records, settings=SETTINGS).clusters
    assert quality.f1 >= pairwise_scores(reference, population["entity"]).f1 - 0.01


def test_an_empty_delta_changes_nothing(population: pd.DataFrame) -> None:
    records = population.drop(columns="entity")
    full = match_records(records, settings=SETTINGS)
    result = match_delta(
        records,
        delta=records.index[:0],
        customer_of=full.clusters,
        parameters=full.parameters,
        settings=SETTINGS,
    )
    assert result.clusters.empty and result.pairs.empty


def test_saved_parameters_must_match_the_comparisons() -> None:
    assert not fits(None)
    assert not fits({"comparisons": {"name": {"levels": ["different", "exact"]}}})


def _pairs_on_all_records(
    records: pd.DataFrame, delta: pd.Index, parameters: dict, settings: MatchSettings
) -> pd.DataFrame:
    """The delta's pairs as scored with every record prepared: the reference the neighbourhood
    must reproduce exactly."""
    import numpy as np

    from mdm.matching.blocking import DEFAULT_RULES, candidate_pairs
    from mdm.matching.compare import compare
    from mdm.matching.engine import _touching
    from mdm.matching.features import prepare
    from mdm.matching.model import score, term_frequencies

    features = prepare(records)
    is_delta = records.index.isin(delta)
    blocking = candidate_pairs(
        features,
        rules=tuple(_touching(rule, is_delta) for rule in DEFAULT_RULES),
        max_block_size=settings.max_block_size,
        window=settings.window,
    )
    left, right = (blocking.pairs[side].to_numpy() for side in ("left", "right"))
    touches = is_delta[left] | is_delta[right]
    left, right = left[touches], right[touches]
    levels = compare(features, left, right)
    scores = score(levels, term_frequencies(features, left, levels), parameters)
    keys = features.keys
    return pd.DataFrame(
        {
            "left_key": keys[left],
            "right_key": keys[right],
            "match_probability": np.round(scores["match_probability"].to_numpy(), 12),
        }
    )


@pytest.mark.parametrize(("max_block_size", "window"), [(3, 10), (200, 10), (200, 1)])
def test_the_neighbourhood_scores_exactly_the_pairs_all_records_would(
    population: pd.DataFrame, max_block_size: int, window: int
) -> None:
    """Only the delta's neighbourhood is prepared; its pairs and their scores (term
    frequencies from the whole population included) equal those of preparing everything, also
    when small blocks are skipped, and when blocks are paired by their sorted neighbourhood
    (window 1: every block of three or more records)."""
    settings = MatchSettings(u_sample_pairs=300_000, max_block_size=max_block_size, window=window)
    records = population.drop(columns="entity")
    new = records.sample(n=80, random_state=5)
    full = match_records(records.drop(new.index), settings=settings)

    result = match_delta(
        records,
        delta=new.index,
        customer_of="C" + full.clusters.astype(str),
        parameters=full.parameters,
        settings=settings,
    )

    expected = _pairs_on_all_records(records, new.index, full.parameters, settings)
    got = result.pairs[["left_key", "right_key", "match_probability"]].copy()
    got["match_probability"] = got["match_probability"].round(12)
    order = ["left_key", "right_key"]
    assert len(expected) > 50
    pd.testing.assert_frame_equal(
        got.sort_values(order).reset_index(drop=True),
        expected.sort_values(order).reset_index(drop=True),
        check_dtype=False,
    )


def test_the_neighbourhood_names_real_blocking_rules(population: pd.DataFrame) -> None:
    """Oversized blocks are passed on by rule name; a renamed rule would silently stop being
    skipped in incremental runs."""
    import numpy as np

    from mdm.matching.blocking import DEFAULT_RULES
    from mdm.matching.keys import RULE_KEYS, record_keys
    from mdm.matching.neighbourhood import find_neighbourhood

    records = population.drop(columns="entity")
    delta = np.zeros(len(records), dtype=bool)
    delta[:10] = True
    near = find_neighbourhood(record_keys(records), delta, max_block_size=200)
    assert set(near.oversized) <= {rule.name for rule in DEFAULT_RULES}
    assert len(near.oversized) == len(RULE_KEYS) and near.members[:10].all()
