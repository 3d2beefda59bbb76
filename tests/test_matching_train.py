"""Training and weights: EM, u from random pairs and all-pairs counts, λ, term frequencies."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from helpers.matching_data import (
    OUYANG_XIU,
    ZHANG_WEI,
    masked,
    record,
    resident_id,
    synthetic_records,
)

from mdm.matching import MatchSettings, match_records
from mdm.matching.blocking import DEFAULT_RULES, candidate_pairs
from mdm.matching.compare import COMPARISONS, LEVEL_MODES, compare, level
from mdm.matching.features import prepare
from mdm.matching.model import partial_weights, term_frequencies
from mdm.matching.train import Sharing, counted_u, random_pairs, training_pairs, u_from_counts
from mdm.testbed.evaluate import pairwise_scores

SETTINGS = MatchSettings(u_sample_pairs=300_000)


@pytest.fixture(scope="module")
def parameters() -> dict:
    return match_records(synthetic_records(1500, seed=5), settings=SETTINGS).parameters


def within_mode(parameters: dict, comparison: str, level_name: str) -> tuple[float, float]:
    """(m, u) of a level, each as a share of its mode."""
    spec = parameters["comparisons"][comparison]
    at = spec["levels"].index(level_name)
    mode = [i for i, name in enumerate(spec["modes"]) if name == spec["modes"][at]]
    m, u = np.asarray(spec["m"]), np.asarray(spec["u"])
    return m[at] / m[mode].sum(), u[at] / u[mode].sum()


def test_parameters_are_json_serializable_and_em_converged(parameters: dict) -> None:
    assert json.loads(json.dumps(parameters)) == parameters
    assert parameters["training"]["em_converged"] is True
    assert 0 < parameters["lambda"] < 0.01


@pytest.mark.parametrize(
    ("comparison", "agreeing", "disagreeing"),
    [
        ("name", "exact", "different"),
        ("name", "romanized_exact", "romanized_different"),
        ("name", "surname_only", "surname_different"),
        ("id", "masked_compatible", "masked_different"),
        ("birth_date", "exact", "different"),
        ("birth_date", "year_agrees", "year_different"),
        ("mobile", "exact", "different"),
        ("gender", "agree", "disagree"),
        ("address", "city_agrees", "city_different"),
    ],
)
def test_em_learns_m_above_u_where_records_agree_and_below_where_they_differ(
    parameters: dict, comparison: str, agreeing: str, disagreeing: str
) -> None:
    m, u = within_mode(parameters, comparison, agreeing)
    assert m > 1.5 * u  # gender agreeing can at most double the odds
    m, u = within_mode(parameters, comparison, disagreeing)
    assert m < u / 8


def test_strangers_sharing_name_and_city_are_not_learned_as_matches() -> None:
    """Regression: with a free λ per blocking rule (Splink's sessions), EM could call a
    name+city block of strangers all matches and learn that one person's phones, birth dates
    and genders differ more often than not. Here 99 % of the candidate pairs are such
    strangers: six names shared by 60 people each, all in one city; the call center knows a
    caller's name, phone and city."""
    names = [
        ZHANG_WEI,
        ("王芳", "wang fang", "fang wang", False),
        ("李娜", "li na", "li na", False),
        ("刘洋", "liu yang", "liu yang", False),
        ("张敏", "zhang min", "min zhang", False),
        ("王伟", "wang wei", "wang wei", False),
    ]
    days = np.random.default_rng(0).integers(0, 15_000, 360)
    rows = []
    for p in range(360):
        person = {
            "entity": f"p{p}",
            "name": names[p % 6],
            "gender": "MF"[p % 2],
            "mobile": f"+86139{(p * 7919 + 12345) % 10**8:08d}",
            "city": "北京市",
        }
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=int(days[p]))
        rid = resident_id("110101", birth, p)
        rows.append(record("branch", f"B{p}", **person, id_number=rid, birth_date=birth))
        rows.append(record("app", f"U{p}", **person, id_number=masked(rid), birth_date=birth))
        rows.append(record("callcenter", f"C{p}", **{**person, "gender": None}))
    records = pd.DataFrame(rows).set_index("record_key")
    result = match_records(records, settings=SETTINGS)
    assert result.blocking_counts["name_city"] > 0.9 * len(result.pairs)
    for comparison, disagreeing in [
        ("mobile", "different"),
        ("birth_date", "different"),
        ("gender", "disagree"),
    ]:
        m, u = within_mode(result.parameters, comparison, disagreeing)
        assert m < u / 50, comparison
    assert pairwise_scores(result.clusters, records["entity"]).f1 == 1.0


def test_lambda_is_the_share_of_all_pairs_that_match() -> None:
    records = synthetic_records(1500, seed=5)
    sizes = records.groupby("entity").size()
    true_pairs = (sizes * (sizes - 1) / 2).sum()
    all_pairs = len(records) * (len(records) - 1) / 2
    lam = match_records(records, settings=SETTINGS).parameters["lambda"]
    assert lam == pytest.approx(true_pairs / all_pairs, rel=0.1)


def test_a_rare_name_agreeing_weighs_more_than_a_common_one() -> None:
    rows = [record("branch", f"Z{i}", f"z{i}", ZHANG_WEI) for i in range(20)]
    rows += [record("branch", f"O{i}", "o", OUYANG_XIU) for i in range(2)]
    features = prepare(pd.DataFrame(rows).set_index("record_key"))
    left, right = np.array([0, 20]), np.array([1, 21])
    levels = compare(features, left, right)
    assert (levels["name"] == level("name", "exact")).all()
    m = {name: np.full(len(labels), 1 / len(labels)) for name, labels in COMPARISONS.items()}
    weights = partial_weights(levels, term_frequencies(features, left, levels), m, m)["name"]
    # Same level, so the gap is the frequency ratio alone: 20 张伟 against 2 欧阳修.
    assert weights[1] - weights[0] == pytest.approx(np.log2(20 / 2))


def test_random_pairs_are_distinct_and_cover_everything_when_few() -> None:
    left, right = random_pairs(5, 100, seed=0)
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [
        (i, j) for i in range(5) for j in range(i + 1, 5)
    ]
    left, right = random_pairs(1000, 5000, seed=0)
    assert (left != right).all() and len(left) > 4900


def test_u_leaves_out_the_matches_a_random_sample_holds() -> None:
    counts = np.array([9_990.0, 10.0])  # 10 of 10,000 random pairs share the id
    raw = u_from_counts(counts)
    corrected = u_from_counts(counts, m=np.array([0.0, 1.0]), lam=0.001)  # all 10 are matches
    assert raw[1] == pytest.approx(10.5 / 10_001)
    assert corrected[1] == pytest.approx(0.5 / 9_991)


def test_counted_u_sets_a_levels_share_of_its_mode_from_all_pairs() -> None:
    u = {name: np.full(len(labels), 1 / len(labels)) for name, labels in COMPARISONS.items()}
    counted = counted_u(u, {("mobile", "exact"): Sharing(1_000.5, 1e9)}, {("mobile", "exact"): 1})
    at = level("mobile", "exact")
    in_mode = LEVEL_MODES["mobile"] == LEVEL_MODES["mobile"][at]
    share = counted["mobile"][at] / counted["mobile"][in_mode].sum()
    assert share == pytest.approx(1_000 / (1e9 + 1.5))
    # The mode's other levels keep their proportions.
    assert counted["mobile"][0] == pytest.approx(counted["mobile"][1])


def test_pairs_teach_only_the_comparisons_their_rules_leave_free() -> None:
    records = synthetic_records(200, seed=2)
    features = prepare(records)
    blocking = candidate_pairs(features)
    pairs = blocking.pairs
    levels = compare(features, pairs["left"].to_numpy(), pairs["right"].to_numpy())
    mask = pairs["rule_mask"].to_numpy()
    training = training_pairs(levels, mask, DEFAULT_RULES, np.zeros(len(pairs)))
    assert training.counts.sum() == len(pairs)
    names = list(COMPARISONS)
    only_name_rules = mask == (1 << [r.name for r in DEFAULT_RULES].index("name_birth_year"))
    assert only_name_rules.any()
    subset = training_pairs(
        levels[only_name_rules],
        mask[only_name_rules],
        DEFAULT_RULES,
        np.zeros(only_name_rules.sum()),
    )
    assert not subset.teaches[:, names.index("name")].any()
    assert not subset.teaches[:, names.index("birth_date")].any()
    assert subset.teaches[:, names.index("mobile")].all()
    assert not subset.identified.any()
