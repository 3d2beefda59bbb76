"""What-if thresholds: what other thresholds would do to a run's merges and possible-match
tasks, from the run's stored scores, without running the matcher again.

A pair's score does not depend on the thresholds (EM fits m and u without them), so a run
keeps a fine histogram of its pairs' match weights (``score_histogram``, 0.01 bit wide, in
pipeline_run.score_histogram) with, per bin, how many of those pairs ended in one customer.
Only pairs a threshold can move are counted: steward-decided pairs (confirmed or not-a-match)
stay as decided, and pairs never merged (cannot-links, households, two different ids) never become
tasks. A histogram of a million records' pairs is some tens of thousands of numbers (a column
of its own, so that the Runs page does not read it); a table of every candidate pair would be
millions of rows.

Two records are in one customer under an upper threshold U when a chain of pairs at or above
U links them: a pair's *bottleneck* is the highest U at which that holds (the weakest link of
its strongest chain, at least its own weight; ``bottlenecks``). Most pairs are their own
bottleneck; the histogram also keeps, as (weight bin, bottleneck bin, pairs), those between
0 and 20 bits that a stronger chain joins (``chained``): the pairs of customers of three or
more records. Pairs, not their records: nothing in it names a record.

``what_if`` then counts, for new thresholds, the automatic merges (pairs at or above ``upper``
in one customer) and the possible-match tasks (pairs at or above ``lower`` in two customers),
starting from what the run did and moving only the pairs whose weight or bottleneck lies
between the old and the new threshold. Each count is exact but for the pairs in the bins the
thresholds fall in (``resolution``) and for the few pairs the clustering's hard rules (two
different ids in one chain) kept apart, which the bottleneck does not see. ``lower`` may go
down to 0.5 and ``upper`` up to 1 - 1e-6 (0 and 20 bits). A possible-match threshold the
steward labels support (mdm/matching/labels.py) holds under any new ``lower`` below it, as a run
would apply it. An incremental run scored only its new and changed records' pairs: a what-if
on it says what the thresholds do to those.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.cluster import components
from mdm.matching.profile import match_weight

STEP = 0.01  # bits per bin
WEIGHT_RANGE = (-20.0, 30.0)  # probabilities from 1e-6 to 1 - 1e-9; beyond: the outer bins
CHAINED_RANGE = (0.0, 20.0)  # bits: the thresholds a what-if may ask for (0.5 to 1 - 1e-6)


def _bin(weights: np.ndarray) -> np.ndarray:
    low, high = WEIGHT_RANGE
    count = round((high - low) / STEP)
    finite = np.nan_to_num(weights, posinf=high, neginf=low)
    return np.clip(np.floor((finite - low) / STEP), 0, count - 1).astype(np.int64)


def _threshold_bin(probability: float) -> int:
    """The first bin at or above a threshold (the nearer edge: the bin holding it is doubt)."""
    return int(_bin(np.asarray([match_weight(probability) + STEP / 2]))[0])


def _pair_keys(pairs: pd.DataFrame) -> pd.Series:
    return pairs["left_key"].astype(str) + "|" + pairs["right_key"].astype(str)


def movable_pairs(pairs: pd.DataFrame, decided: Iterable[tuple[str, str]] = ()) -> pd.DataFrame:
    """The scored pairs a threshold can move: not a steward's decision, not a pair the run
    would never merge (decision ``cannot_link``)."""
    # the columns the histogram reads, not a copy of every pair's row; a categorical compares
    # codes, not a string per pair
    movable = ((pairs["decision"] != "cannot_link") & (pairs["rules"] != "steward")).to_numpy()
    kept = pairs.loc[movable, ["left_key", "right_key", "match_weight", "decision"]]
    decided_keys = {f"{a}|{b}" for pair in decided for a, b in [sorted(pair)]}
    if decided_keys:
        kept = kept[~_pair_keys(kept).isin(decided_keys).to_numpy()]
    return kept


def bottlenecks(
    left: np.ndarray, right: np.ndarray, weight: np.ndarray, wanted: np.ndarray | None = None
) -> np.ndarray:
    """Per pair (node positions ``left``/``right``), the highest weight at which a chain of
    pairs at or above it joins its two nodes (Kruskal's order: the weight of the union that
    first connects them); NaN for pairs not ``wanted``. Merging the smaller component into the
    larger and looking only at its nodes' wanted pairs keeps it O(pairs · log nodes); a pair
    alone in its component is its own bottleneck, so only components of three or more nodes
    are walked."""
    found = weight.astype(np.float64, copy=True)
    if wanted is not None:
        found[~wanted] = np.nan
    if not len(left):
        return found
    n = int(max(left.max(), right.max())) + 1
    component = components(n, left, right)
    nodes_in = np.bincount(component, minlength=n)[component[left]]
    found[nodes_in == 3] = _three_nodes(component[left], weight, nodes_in == 3)
    if wanted is not None:
        found[~wanted] = np.nan
    walked = np.flatnonzero(nodes_in > 3)
    found[walked] = _kruskal(
        left[walked], right[walked], weight[walked], None if wanted is None else wanted[walked]
    )
    return found


def _three_nodes(component: np.ndarray, weight: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Bottlenecks in components of three nodes, the commonest chained customers: on a path
    each pair is its own; in a triangle a pair weaker than both others is joined at the
    weaker of those two."""
    rows = np.flatnonzero(mask)
    frame = pd.DataFrame({"component": component[rows], "weight": weight[rows]})
    group = frame.groupby("component")["weight"]
    size = group.transform("size").to_numpy()
    weakest, middle = group.transform("min").to_numpy(), group.transform("median").to_numpy()
    own = frame["weight"].to_numpy()
    # in a triangle the weakest pair is joined at the middle one's weight; the others at theirs
    return np.where((size == 3) & (own == weakest), np.maximum(own, middle), own)


def _kruskal(
    left: np.ndarray, right: np.ndarray, weight: np.ndarray, wanted: np.ndarray | None
) -> np.ndarray:
    nodes, codes = np.unique(np.r_[left, right], return_inverse=True)
    lefts, rights = codes[: len(left)].tolist(), codes[len(left) :].tolist()
    weights = weight.tolist()
    parent = list(range(len(nodes)))
    members: list[list[int]] = [[node] for node in range(len(nodes))]
    touching: list[list[int]] = [[] for _ in range(len(nodes))]
    for pair in range(len(lefts)) if wanted is None else np.flatnonzero(wanted).tolist():
        touching[lefts[pair]].append(pair)
        touching[rights[pair]].append(pair)
    found = [float("nan")] * len(lefts)

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for pair in np.argsort(-weight, kind="stable").tolist():
        big, small = root(lefts[pair]), root(rights[pair])
        if big == small:
            continue
        if len(members[big]) < len(members[small]):
            big, small = small, big
        for node in members[small]:
            for other in touching[node]:
                if found[other] != found[other]:  # NaN: not yet joined
                    far = rights[other] if lefts[other] == node else lefts[other]
                    if root(far) == big:
                        found[other] = weights[pair]
        parent[small] = big
        members[big].extend(members[small])
        members[small] = []
    return np.asarray(found, dtype=np.float64)


def score_histogram(
    pairs: pd.DataFrame,
    *,
    upper: float,
    lower: float,
    supported_lower: float | None = None,
    decided: Iterable[tuple[str, str]] = (),
    matched_all: bool = True,
) -> dict[str, Any]:
    """The run's movable pairs per weight bin, for pipeline_run.score_histogram (counts only):
    the non-empty ``bins`` with their ``pairs`` and ``joined`` (in one customer), the ``chained``
    pairs as [weight bin, bottleneck bin, pairs], the thresholds the run used (``lower`` as
    applied, the labels' one included), the labels' own threshold (``supported_lower``, None:
    too few labels), and whether the run scored every pair. Steward-confirmed pairs join
    chains as pairs of infinite weight."""
    kept = movable_pairs(pairs, decided)
    weights = kept["match_weight"].to_numpy(dtype=float)
    bins = _bin(weights)
    joined = (kept["decision"] == "match").to_numpy()
    count = np.bincount(bins, minlength=1)
    together = np.bincount(bins, weights=joined, minlength=len(count)).astype(np.int64)
    used = np.flatnonzero(count)
    return {
        "step": STEP,
        "low": WEIGHT_RANGE[0],
        "bins": used.tolist(),
        "pairs": count[used].tolist(),
        "joined": together[used].tolist(),
        "chained": _chained(kept, weights, decided),
        "upper": upper,
        "lower": lower,
        "supported_lower": supported_lower,
        "matched_all": matched_all,
    }


def _chained(
    kept: pd.DataFrame, weights: np.ndarray, decided: Iterable[tuple[str, str]]
) -> list[list[int]]:
    """[weight bin, bottleneck bin, pairs] of the pairs in CHAINED_RANGE that a chain of
    stronger pairs joins."""
    strong = weights >= CHAINED_RANGE[0]
    must = pd.DataFrame(list(decided), columns=["left_key", "right_key"], dtype=object)
    keys = pd.concat([kept.loc[strong, ["left_key", "right_key"]], must], ignore_index=True)
    codes, _ = pd.factorize(pd.concat([keys["left_key"], keys["right_key"]], ignore_index=True))
    half = len(keys)
    weight = np.r_[weights[strong], np.full(len(must), np.inf)]
    below_top = np.r_[weights[strong] < CHAINED_RANGE[1], np.zeros(len(must), dtype=bool)]
    found = bottlenecks(codes[:half], codes[half:], weight, below_top)[: int(strong.sum())]
    own, chain = _bin(weights[strong]), _bin(found)
    wanted = (chain > own) & below_top[: int(strong.sum())]
    table = pd.DataFrame({"own": own[wanted], "chain": chain[wanted]}).value_counts()
    return [[int(a), int(b), int(n)] for (a, b), n in table.sort_index().items()]


@dataclass(frozen=True)
class WhatIf:
    """Merges and possible-match tasks under the run's thresholds and under new ones."""

    upper: float
    lower: float  # as a run would apply it: raised to the labels' threshold where they have one
    merges_now: int
    merges_then: int
    merges_gained: int
    merges_lost: int
    tasks_now: int
    tasks_then: int
    tasks_opened: int
    tasks_closed: int
    # pairs in the bins the four thresholds fall in: each count may be off by at most these
    resolution: int
    matched_all: bool  # the run scored every pair (else only its new and changed records')


def applied_lower(lower: float, upper: float, supported: float | None) -> float:
    """The possible-match threshold a run applies: the labels' where they support one."""
    return lower if supported is None else float(np.clip(supported, lower, upper))


def what_if(histogram: Mapping[str, Any], *, upper: float, lower: float) -> WhatIf:
    """What ``upper`` and ``lower`` would change in the run the histogram is of."""
    low, high = (1 / (1 + 2**-w) for w in CHAINED_RANGE)
    if not low <= lower <= upper <= high:
        raise ValueError(
            f"need 0.5 <= lower <= upper <= 1 - 1e-6, got lower {lower:g}, upper {upper:g}"
        )
    lower = applied_lower(lower, upper, histogram.get("supported_lower"))
    bins = np.asarray(histogram["bins"], dtype=np.int64)
    pairs = np.asarray(histogram["pairs"], dtype=np.int64)
    joined = np.asarray(histogram["joined"], dtype=np.int64)
    u0, l0 = _threshold_bin(histogram["upper"]), _threshold_bin(histogram["lower"])
    u1, l1 = _threshold_bin(upper), _threshold_bin(lower)
    chained = np.asarray(histogram.get("chained") or np.empty((0, 3)), dtype=np.int64)
    own, chain, many = chained.T if len(chained) else (np.empty(0, dtype=np.int64),) * 3
    # a pair's bottleneck: its chain's where a chain is stronger, else its own weight
    alone = pairs - np.bincount(
        np.searchsorted(bins, own), weights=many, minlength=len(bins)
    ).astype(np.int64)
    weight_of = np.r_[bins, own]
    bottleneck_of = np.r_[bins, chain]
    counted = np.r_[alone, many]

    merged_now = joined[bins >= u0]
    merges_now, merges_then = int(merged_now.sum()), int(joined[bins >= max(u0, u1)].sum())
    merges_then += int(pairs[(bins >= u1) & (bins < u0)].sum())  # reached by a lower upper
    apart_now = pairs - joined
    tasks_now = int(apart_now[bins >= l0].sum())
    # from the run's own tasks at the new lower, move the pairs whose bottleneck the new upper
    # crosses: joined before and apart now (a higher upper), or the reverse
    reach = weight_of >= l1
    tasks_then = int(apart_now[bins >= l1].sum())
    raised = reach & (bottleneck_of >= u0) & (bottleneck_of < u1)
    lowered = reach & (bottleneck_of >= u1) & (bottleneck_of < u0)
    tasks_then += int(counted[raised].sum()) - int(counted[lowered].sum())
    task_bins_now = bins >= l0
    opened = int(apart_now[(bins >= l1) & ~task_bins_now].sum()) + int(counted[raised].sum())
    closed = int(apart_now[task_bins_now & (bins < l1)].sum()) + int(counted[lowered].sum())
    doubt = {u0, l0, u1, l1}
    holding = np.isin(bins, list(doubt)) | np.isin(bins, [b - 1 for b in doubt])
    return WhatIf(
        upper=upper,
        lower=lower,
        merges_now=merges_now,
        merges_then=merges_then,
        merges_gained=max(merges_then - merges_now, 0),
        merges_lost=max(merges_now - merges_then, 0),
        tasks_now=tasks_now,
        tasks_then=tasks_then,
        tasks_opened=opened,
        tasks_closed=closed,
        resolution=int(pairs[holding].sum()),
        matched_all=bool(histogram.get("matched_all", True)),
    )
