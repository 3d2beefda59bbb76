"""Blocking: candidate pairs per rule, their union, and the oversized-block guard."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest
from helpers.matching_data import CHEN_LI, R_CHEN, ZHANG_WEI, labelled_records, record

from mdm.matching.blocking import STEWARD_RULE, block_pairs, candidate_pairs
from mdm.matching.features import prepare


def _pair_set(left: np.ndarray, right: np.ndarray) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in zip(left.tolist(), right.tolist(), strict=True)}


def _keyed_pairs(records: pd.DataFrame, rule: str) -> set[tuple[str, str]]:
    features = prepare(records)
    blocking = candidate_pairs(features)
    chosen = blocking.pairs[blocking.proposed_by(rule)]
    keys = features.keys
    return set(zip(keys[chosen["left"]], keys[chosen["right"]], strict=True))


def test_block_pairs_enumerates_every_block_and_skips_the_oversized_one() -> None:
    key = np.array([5, 5, 5, -1, 7, 7, 9, 9, 9, 9, 3])
    left, right, skipped = block_pairs(key, max_block_size=3)
    assert _pair_set(left, right) == {(0, 1), (0, 2), (1, 2), (4, 5)}
    assert skipped == 1


def _window_pairs(members: list[int], order: np.ndarray, window: int) -> set[tuple[int, int]]:
    """Brute force: each member with the `window` after it when sorted by `order`."""
    ranked = sorted(members, key=lambda m: order[m])
    return {
        (min(a, b), max(a, b)) for i, a in enumerate(ranked) for b in ranked[i + 1 : i + 1 + window]
    }


def test_a_block_over_the_window_pairs_each_record_with_its_next_neighbours() -> None:
    """Blocks of at most window + 1 records are whole; a larger one pairs each record with the
    `window` after it in each order (a record's position in that order), each pair once."""
    key = np.array([1] * 8 + [-1] + [2, 2, 2])
    by_position = np.arange(12)
    halves_reversed = np.array([3, 2, 1, 0, 7, 6, 5, 4, 8, 9, 10, 11])
    orders = (by_position, halves_reversed)
    left, right, skipped = block_pairs(key, 200, window=2, orders=orders)
    large = list(range(8))
    expected = _window_pairs(large, by_position, 2) | _window_pairs(large, halves_reversed, 2)
    expected |= {(9, 10), (9, 11), (10, 11)}  # three records: whole under a window of 2
    assert _pair_set(left, right) == expected and skipped == 0


def test_block_pairs_of_nothing_is_empty() -> None:
    left, right, skipped = block_pairs(np.array([-1, -1, 4]), max_block_size=10)
    assert len(left) == len(right) == 0
    assert skipped == 0


@pytest.mark.parametrize("seed", range(5))
def test_candidate_pairs_are_the_union_of_brute_force_rule_pairs(seed: int) -> None:
    records = labelled_records().sample(frac=1.0, random_state=seed)  # row order must not matter
    features = prepare(records)
    blocking = candidate_pairs(features)
    pairs = blocking.pairs
    assert (features.rank[pairs["left"]] < features.rank[pairs["right"]]).all()
    assert not pairs.duplicated(["left", "right"]).any()
    union: set[tuple[int, int]] = set()
    for rule in blocking.rules:
        key = rule.key(features)
        expected = {
            (i, j)
            for i, j in itertools.combinations(range(features.size), 2)
            if key[i] >= 0 and key[i] == key[j]
        }
        got = pairs[blocking.proposed_by(rule.name)]
        assert _pair_set(got["left"].to_numpy(), got["right"].to_numpy()) == expected, rule.name
        assert blocking.pairs_per_rule[rule.name] == len(expected)
        union |= expected
    assert _pair_set(pairs["left"].to_numpy(), pairs["right"].to_numpy()) == union


def test_each_rule_finds_the_pairs_it_is_for() -> None:
    records = labelled_records()
    assert ("branch:B003", "fund:F003") in _keyed_pairs(records, "id")
    assert ("app:U001", "branch:B001") in _keyed_pairs(records, "id_stub_name")
    assert ("branch:B002", "branch:B003") in _keyed_pairs(records, "mobile")  # spouses
    assert ("branch:B001", "thirdparty:T001") in _keyed_pairs(records, "name_birth_year")
    assert ("branch:B004", "branch:B005") in _keyed_pairs(records, "surname_birth_date")  # twins
    assert not any("app:" in a or "app:" in b for a, b in _keyed_pairs(records, "id"))  # masked


def test_id17_meets_a_wrong_check_digit_and_a_transposed_mobile_meets_its_original() -> None:
    wrong_check = R_CHEN[:17] + ("0" if R_CHEN[17] != "0" else "1")
    records = pd.DataFrame(
        [
            record("branch", "1", "a", CHEN_LI, id_number=R_CHEN, mobile="+8613911428803"),
            record("fund", "1", "a", CHEN_LI, id_number=wrong_check, id_valid=False),
            record("app", "1", "a", CHEN_LI, mobile="+8613911428830"),
        ]
    ).set_index("record_key")
    assert _keyed_pairs(records, "id17") == {("branch:1", "fund:1")}
    assert _keyed_pairs(records, "id") == set()
    assert _keyed_pairs(records, "mobile_digits_surname") == {("app:1", "branch:1")}


def test_a_key_shared_by_too_many_records_is_skipped_and_reported() -> None:
    names = [("赵磊", "zhao lei"), ("钱明", "qian ming"), ("孙红", "sun hong"), ("李娜", "li na")]
    placeholder = [
        record("branch", str(i), str(i), (key, py, py, False), mobile="+8613800138000")
        for i, (key, py) in enumerate(names + [("周杰", "zhou jie")])
    ]
    records = pd.DataFrame(placeholder).set_index("record_key")
    features = prepare(records)
    guarded = candidate_pairs(features, max_block_size=4)
    assert guarded.skipped_blocks["mobile"] == 1
    assert guarded.pairs_per_rule["mobile"] == 0
    assert candidate_pairs(features, max_block_size=5).pairs_per_rule["mobile"] == 10


def test_namesakes_in_a_large_block_keep_their_pairs_and_add_pairs_linear_in_its_size() -> None:
    """Forty people named 张伟, born in 1985, two records each: the name_birth_year block of 80
    records pairs each person's records (sorted together by birth date, or by mobile where one
    record lacks the date), at most window pairs per record and order instead of 80 * 79 / 2."""
    rows = []
    for person in range(40):
        born = dt.date(1985, 1, 1) + dt.timedelta(days=9 * person)
        mobile = f"+86139{person:08d}"
        with_date = person % 2 == 0  # half the second records lack the birth date
        rows += [
            record("branch", f"b{person}", str(person), ZHANG_WEI, birth_date=born, mobile=mobile),
            record(
                "app",
                f"a{person}",
                str(person),
                ZHANG_WEI,
                birth_date=born if with_date else None,
                birth_year=1985,
                mobile=mobile,
            ),
        ]
    records = pd.DataFrame(rows).set_index("record_key")
    features = prepare(records)
    blocking = candidate_pairs(features, window=5)
    proposed = blocking.pairs[blocking.proposed_by("name_birth_year")]
    entity = records["entity"].to_numpy()
    same = entity[proposed["left"]] == entity[proposed["right"]]
    assert same.sum() == 40  # every person's pair
    assert blocking.pairs_per_rule["name_birth_year"] == len(proposed)  # each pair once
    assert blocking.pairs_per_rule["name_birth_year"] <= 80 * 5 * 2 < 80 * 79 // 2
    assert candidate_pairs(features).pairs_per_rule["name_birth_year"] == 80 * 79 // 2


def test_steward_pairs_join_under_their_own_rule() -> None:
    features = prepare(labelled_records())
    steward = (np.array([0, 3]), np.array([5, 3]))  # a self-pair is dropped
    blocking = candidate_pairs(features, extra=steward)
    marked = blocking.pairs[blocking.proposed_by(STEWARD_RULE)]
    names = blocking.rule_names(marked["rule_mask"].to_numpy())
    assert all(STEWARD_RULE in label.split(",") for label in names.astype(str))
    assert _pair_set(marked["left"].to_numpy(), marked["right"].to_numpy()) == {(0, 5)}
