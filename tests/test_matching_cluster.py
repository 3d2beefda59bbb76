"""Clustering: plain components against BFS, constrained components against a naive greedy."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from mdm.matching.cluster import cluster

NONE = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))


def bfs_labels(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """Reference: breadth-first components, labelled by their smallest node."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    labels = np.full(n, -1)
    for start in range(n):
        if labels[start] >= 0:
            continue
        labels[start] = start
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if labels[other] < 0:
                    labels[other] = start
                    queue.append(other)
    return labels


def greedy_labels(
    n: int,
    edges: list[tuple[int, int, float]],
    identity: np.ndarray,
    cannot: set[frozenset[int]],
    threshold: float,
) -> np.ndarray:
    """Reference: edges by descending probability into explicit member sets, each join checked
    against every pair it would create."""
    member_of = {i: frozenset([i]) for i in range(n)}
    for a, b, p in sorted(edges, key=lambda e: (-e[2], e[0], e[1])):
        if p < threshold or member_of[a] == member_of[b]:
            continue
        joined = member_of[a] | member_of[b]
        ids = {int(identity[i]) for i in joined if identity[i] >= 0}
        if len(ids) > 1 or any(frozenset((x, y)) in cannot for x in joined for y in joined):
            continue
        for i in joined:
            member_of[i] = joined
    return np.array([min(member_of[i]) for i in range(n)])


def random_graph(rng: np.random.Generator) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    n = int(rng.integers(1, 60))
    m = int(rng.integers(0, 2 * n + 1))
    left, right = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = left != right
    # Probabilities from a small grid, so that ties (broken by position) happen often.
    return n, left[keep], right[keep], rng.choice([0.5, 0.9, 0.97, 0.99, 0.999], keep.sum())


@pytest.mark.parametrize("seed", range(300))
def test_without_constraints_clusters_are_the_bfs_components(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, left, right, probability = random_graph(rng)
    labels = cluster(n, left, right, probability, threshold=0.95)
    merged = probability >= 0.95
    expected = bfs_labels(n, list(zip(left[merged].tolist(), right[merged].tolist(), strict=True)))
    assert labels.tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(300))
def test_with_constraints_clusters_are_the_naive_greedy_ones(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    n, left, right, probability = random_graph(rng)
    identity = np.where(rng.random(n) < 0.4, rng.integers(0, 3, n), -1)
    count = int(rng.integers(0, 4))
    cannot_left, cannot_right = rng.integers(0, n, count), rng.integers(0, n, count)
    keep = cannot_left != cannot_right
    cannot = (cannot_left[keep], cannot_right[keep])
    labels = cluster(
        n, left, right, probability, threshold=0.95, identity=identity, cannot_link=cannot
    )
    edges = list(zip(left.tolist(), right.tolist(), probability.tolist(), strict=True))
    forbidden = {frozenset(pair) for pair in zip(*(c.tolist() for c in cannot), strict=True)}
    assert labels.tolist() == greedy_labels(n, edges, identity, forbidden, 0.95).tolist()


def test_two_different_resident_ids_never_merge_whatever_the_score() -> None:
    labels = cluster(
        2, np.array([0]), np.array([1]), np.array([1.0]), threshold=0.99, identity=np.array([7, 8])
    )
    assert labels[0] != labels[1]


def test_ids_of_different_kinds_never_conflict() -> None:
    # one person's resident id (kind 0) and Spanish NIE (kind 1); another's NIE
    left, right, probability = np.array([0, 1]), np.array([1, 2]), np.array([1.0, 0.999])
    identity, kind = np.array([7, 8, 9]), np.array([0, 1, 1])
    labels = cluster(3, left, right, probability, threshold=0.99, identity=identity,
                     identity_kind=kind)  # fmt: skip
    assert labels.tolist() == [0, 0, 2]


def test_chain_through_a_record_without_id_does_not_join_two_ids() -> None:
    # A (id 1) ~ B (no id) ~ C (id 2): the stronger edge wins B, the other is refused.
    labels = cluster(
        3,
        np.array([0, 1]),
        np.array([1, 2]),
        np.array([0.999, 0.995]),
        threshold=0.99,
        identity=np.array([1, -1, 2]),
    )
    assert labels.tolist() == [0, 0, 2]
    labels = cluster(
        3,
        np.array([0, 1]),
        np.array([1, 2]),
        np.array([0.995, 0.999]),
        threshold=0.99,
        identity=np.array([1, -1, 2]),
    )
    assert labels.tolist() == [0, 1, 1]


def test_cannot_link_stops_a_transitive_merge() -> None:
    left, right, probability = np.array([0, 1]), np.array([1, 2]), np.array([0.999, 0.998])
    assert cluster(3, left, right, probability, threshold=0.99).tolist() == [0, 0, 0]
    split = cluster(
        3, left, right, probability, threshold=0.99, cannot_link=(np.array([2]), np.array([0]))
    )
    assert split.tolist() == [0, 0, 2]


def test_must_link_beats_scores_and_ids_but_not_a_cannot_link() -> None:
    no_edges = (np.empty(0, dtype=np.int64),) * 2
    joined = cluster(
        3,
        *no_edges,
        np.empty(0),
        threshold=0.99,
        identity=np.array([1, 2, -1]),
        must_link=(np.array([0]), np.array([1])),
    )
    assert joined.tolist() == [0, 0, 2]
    refused = cluster(
        2,
        *no_edges,
        np.empty(0),
        threshold=0.99,
        must_link=(np.array([0]), np.array([1])),
        cannot_link=(np.array([1]), np.array([0])),
    )
    assert refused.tolist() == [0, 1]


def test_representative_is_the_member_of_smallest_rank() -> None:
    labels = cluster(
        3,
        np.array([0, 1]),
        np.array([1, 2]),
        np.array([1.0, 1.0]),
        threshold=0.99,
        rank=np.array([2, 0, 1]),
    )
    assert labels.tolist() == [1, 1, 1]


def test_no_edges_leaves_every_record_alone() -> None:
    assert cluster(4, *NONE, np.empty(0), threshold=0.99).tolist() == [0, 1, 2, 3]
