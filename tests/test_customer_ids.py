"""Stable customer ids: re-runs keep them, merges retire the younger, splits keep the larger."""

from __future__ import annotations

import pandas as pd

from mdm.customer_ids import assign_customer_ids, customer_number, format_customer_id


def test_new_clusters_get_fresh_ids_in_label_order() -> None:
    clusters = pd.Series({"a:1": "a:1", "b:1": "a:1", "c:1": "c:1"})
    ids, retired = assign_customer_ids(clusters, pd.Series(dtype=object), next_number=5)
    assert ids.to_dict() == {"a:1": "C000000005", "c:1": "C000000006"}
    assert retired == []


def test_rerun_on_same_clusters_keeps_every_id() -> None:
    clusters = pd.Series({"a:1": "a:1", "b:1": "a:1", "c:1": "c:1"})
    existing = pd.Series({"a:1": "C000000009", "b:1": "C000000009", "c:1": "C000000002"})
    ids, retired = assign_customer_ids(clusters, existing, next_number=10)
    assert ids.to_dict() == {"a:1": "C000000009", "c:1": "C000000002"}
    assert retired == []


def test_merge_keeps_majority_id_and_retires_the_other() -> None:
    clusters = pd.Series({"a:1": "a:1", "b:1": "a:1", "c:1": "a:1"})
    existing = pd.Series({"a:1": "C000000007", "b:1": "C000000007", "c:1": "C000000003"})
    ids, retired = assign_customer_ids(clusters, existing, next_number=10)
    assert ids.to_dict() == {"a:1": "C000000007"}
    assert retired == ["C000000003"]


def test_merge_tie_keeps_the_oldest_id() -> None:
    clusters = pd.Series({"a:1": "a:1", "c:1": "a:1"})
    existing = pd.Series({"a:1": "C000000007", "c:1": "C000000003"})
    ids, retired = assign_customer_ids(clusters, existing, next_number=10)
    assert ids.to_dict() == {"a:1": "C000000003"}
    assert retired == ["C000000007"]


def test_split_larger_part_keeps_id_smaller_part_gets_new_one() -> None:
    clusters = pd.Series({"a:1": "a:1", "b:1": "a:1", "c:1": "c:1"})
    existing = pd.Series({"a:1": "C000000004", "b:1": "C000000004", "c:1": "C000000004"})
    ids, retired = assign_customer_ids(clusters, existing, next_number=10)
    assert ids.to_dict() == {"a:1": "C000000004", "c:1": "C000000010"}
    assert retired == []


def test_new_record_joining_existing_customer_keeps_its_id() -> None:
    clusters = pd.Series({"a:1": "a:1", "z:9": "a:1"})
    existing = pd.Series({"a:1": "C000000001"})
    ids, _ = assign_customer_ids(clusters, existing, next_number=2)
    assert ids.to_dict() == {"a:1": "C000000001"}


def test_customer_id_format_round_trips() -> None:
    assert format_customer_id(42) == "C000000042"
    assert customer_number("C000000042") == 42
