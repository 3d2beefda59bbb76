"""match_delta: new records matched against a clustered population with a saved model."""

from __future__ import annotations

import pandas as pd
import pytest
from test_matching_data import labelled_records, synthetic_records

from mdm.evaluate import pairwise_scores
from mdm.matching import MatchSettings, fits, match_delta, match_records

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
