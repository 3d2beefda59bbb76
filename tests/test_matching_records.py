"""match_records end to end: the labelled hard cases inside a synthetic population."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from helpers.matching_data import labelled_records, synthetic_records

from mdm.matching import DECISIONS, MatchResult, MatchSettings, match_records
from mdm.matching.compare import COMPARISONS
from mdm.testbed.evaluate import pairwise_scores

SETTINGS = MatchSettings(u_sample_pairs=300_000)


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return pd.concat([labelled_records(), synthetic_records(1200, seed=3)])


@pytest.fixture(scope="module")
def result(records: pd.DataFrame) -> MatchResult:
    return match_records(records.drop(columns="entity"), settings=SETTINGS)


def pair_row(result: MatchResult, a: str, b: str) -> pd.Series:
    left, right = min(a, b), max(a, b)
    pairs = result.pairs
    return pairs[(pairs["left_key"] == left) & (pairs["right_key"] == right)].iloc[0]


def test_the_labelled_hard_cases_cluster_exactly_as_the_truth(
    result: MatchResult, records: pd.DataFrame
) -> None:
    labelled = labelled_records()
    found = pd.DataFrame({"cluster": result.clusters[labelled.index], "truth": labelled["entity"]})
    assert (found.groupby("truth")["cluster"].nunique() == 1).all()
    assert (found.groupby("cluster")["truth"].nunique() == 1).all()


def test_pairwise_quality_on_the_synthetic_population(
    result: MatchResult, records: pd.DataFrame
) -> None:
    quality = pairwise_scores(result.clusters, records["entity"])
    assert quality.precision >= 0.995
    assert quality.recall >= 0.9


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("branch:B002", "branch:B003", "spouses sharing a phone and an address"),
        ("branch:B003", "callcenter:C002", "王先生 on the household phone is not 李娜"),
        ("branch:B004", "branch:B005", "twins: surname, birth date and address"),
        ("branch:B006", "branch:B007", "two different 张伟"),
    ],
)
def test_people_who_look_alike_stay_apart(result: MatchResult, a: str, b: str, why: str) -> None:
    assert result.clusters[a] != result.clusters[b], why


def test_hard_negative_pairs_are_marked_and_never_merged(result: MatchResult) -> None:
    conflicts = result.pairs[result.pairs["id_level"] == "conflict"]
    assert len(conflicts) > 0
    assert (conflicts["decision"] == "cannot_link").all()
    left = result.clusters[conflicts["left_key"]].to_numpy()
    assert (left != result.clusters[conflicts["right_key"]].to_numpy()).all()


def test_pairs_frame_contract(result: MatchResult) -> None:
    pairs = result.pairs
    assert (pairs["left_key"] < pairs["right_key"]).all()
    assert not pairs.duplicated(["left_key", "right_key"]).any()
    assert set(pairs["decision"].unique()) <= set(DECISIONS)
    same = (
        result.clusters[pairs["left_key"]].to_numpy()
        == result.clusters[pairs["right_key"]].to_numpy()
    )
    assert ((pairs["decision"] == "match") == (same & (pairs["decision"] != "cannot_link"))).all()
    possible = pairs[pairs["decision"] == "possible"]
    assert (possible["match_probability"] >= SETTINGS.lower).all()
    weights = pairs[[f"{name}_weight" for name in COMPARISONS]].sum(axis=1)
    prior = pairs["match_weight"] - weights
    assert prior.round(6).nunique() == 1  # match_weight = prior + the parts
    assert set(result.blocking_counts) >= {"id", "mobile", "name_birth_year"}
    assert json.loads(json.dumps(result.parameters)) == result.parameters


def test_parts_explain_a_pair_for_a_steward(result: MatchResult) -> None:
    row = pair_row(result, "app:U001", "branch:B001")
    parts = result.parts(result.pairs.loc[[row.name]]).iloc[0]
    assert parts["id"]["level"] == "masked_compatible"
    assert parts["name"]["level"] == "exact" and parts["name"]["weight"] > 0
    assert parts["email"] == {"level": "null", "weight": 0.0}
    assert set(parts) == set(COMPARISONS)


def test_steward_decisions_override_scores(records: pd.DataFrame) -> None:
    decided = match_records(
        records.drop(columns="entity"),
        settings=SETTINGS,
        must_link=[("branch:B012", "thirdparty:T007"), ("branch:B999", "app:U001")],
        cannot_link=[("app:U001", "branch:B001")],
    )
    clusters = decided.clusters
    assert clusters["branch:B012"] == clusters["thirdparty:T007"]
    assert clusters["app:U001"] != clusters["branch:B001"]
    assert pair_row(decided, "app:U001", "branch:B001")["decision"] == "cannot_link"
    steward = pair_row(decided, "branch:B012", "thirdparty:T007")
    assert steward["rules"] == "steward" and steward["decision"] == "match"


def test_row_order_does_not_change_the_result(records: pd.DataFrame, result: MatchResult) -> None:
    shuffled = records.drop(columns="entity").sample(frac=1.0, random_state=7)
    again = match_records(shuffled, settings=SETTINGS)
    assert again.clusters.sort_index().equals(result.clusters.sort_index())
    merged = again.pairs.merge(result.pairs, on=["left_key", "right_key"])
    assert len(merged) == len(result.pairs)
    assert (merged["match_probability_x"] - merged["match_probability_y"]).abs().max() < 1e-9


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="lower <= upper"):
        MatchSettings(upper=0.8, lower=0.9)


def test_duplicate_record_keys_are_refused(records: pd.DataFrame) -> None:
    doubled = pd.concat([records.iloc[:2], records.iloc[:1]])
    with pytest.raises(ValueError, match="unique"):
        match_records(doubled)
