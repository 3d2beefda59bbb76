"""The matching engine: ``match_records`` for a full run, ``match_delta`` for an incremental one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from mdm.matching.arrays import isin, pair_codes
from mdm.matching.audit import DEFAULT_SAMPLE
from mdm.matching.blocking import (
    DEFAULT_RULES,
    Blocking,
    BlockingRule,
    candidate_pairs,
    training_rules,
)
from mdm.matching.cluster import cluster
from mdm.matching.compare import COMPARISONS, NULL, ComparePairs, comparable, compare, level
from mdm.matching.features import Features, prepare
from mdm.matching.keys import record_keys
from mdm.matching.labels import (
    Labels,
    em_only,
    find_labels,
    held_out_check,
    learnt_lower,
    review_changes,
    supported_lower,
    with_labels,
)
from mdm.matching.model import TermFrequencies, explain, score, term_frequencies
from mdm.matching.neighbourhood import Population, find_neighbourhood
from mdm.matching.train import TrainingSettings, fit

DECISIONS = ("match", "possible", "non_match", "cannot_link")


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds are posterior probabilities that the two records are one person.

    The probabilities are calibrated (on synthetic data, pairs scored 0.9-0.97 matched 88-97 %
    of the time), so ``upper`` is the error rate accepted for the last merge: a wrong merge
    mixes two customers' money and data, a missed one only leaves a duplicate for a steward.
    At 0.99 the 50,000-record benchmark merges at pairwise precision 0.9997 and recall 0.982;
    0.80 would buy 0.6 points of recall for 0.07 of precision. From 0.80 up a pair is more
    likely one person than not by four to one, worth a steward's look.
    """

    upper: float = 0.99  # probability at/above which records merge automatically
    lower: float = 0.80  # between lower and upper: possible match for a steward
    max_block_size: int = 200  # a blocking key shared by more records is skipped for that rule
    # a block of more records pairs each only with this many neighbours per order (blocking.py)
    window: int = 5
    seed: int = 0  # seeds the random pairs that estimate u
    u_sample_pairs: int = 1_000_000  # random pairs for u (Splink's default max_pairs)
    # A later run matches only its new and changed records with the saved model while they are
    # at most this share of the warehouse's records; more new data refits the model on all.
    incremental_share: float = 0.2
    # What a matching.yaml changes (mdm/matching/config.py); the defaults need none.
    rules: tuple[BlockingRule, ...] = DEFAULT_RULES
    comparisons_off: frozenset[str] = frozenset()  # null on every pair: they weigh nothing
    cutoffs: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # compare.CUTOFFS
    term_frequency: frozenset[str] | None = None  # Features fields TF-adjusted; None = all
    households: bool = True  # one family name, two given names: never merged
    # automatic merges a run samples for a steward to verify (mdm/matching/audit.py); 0: none
    audit_sample: int = DEFAULT_SAMPLE
    audit_seed: int = 0  # keys the hash that draws them: the same pairs on every run
    # identifies the settings above that shape the model (not the thresholds): a saved model
    # fitted under other ones is not reused
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not 0.0 < self.lower <= self.upper <= 1.0:
            raise ValueError(f"need 0 < lower <= upper <= 1, got {self.lower}, {self.upper}")
        if self.audit_sample < 0:
            raise ValueError(f"the audit's sample size must be 0 or more, got {self.audit_sample}")


@dataclass
class MatchResult:
    """What a matching run found.

    ``pairs``: one row per candidate pair (and per steward decision): ``left_key`` <
    ``right_key``, ``rules`` (comma-joined blocking rules, ``steward`` for decided pairs),
    ``match_weight`` (log2 Bayes factor including the prior), ``match_probability``, ``decision``
    (``match`` = same cluster, ``possible`` = different clusters at or above ``lower``,
    ``cannot_link`` = steward's not-a-match or two different valid resident ids, else
    ``non_match``), and the parts of the score: ``<comparison>_level`` / ``<comparison>_weight``.
    """

    # record_key -> cluster label (the smallest record_key in it); match_delta: affected only
    clusters: pd.Series
    pairs: pd.DataFrame
    blocking_counts: dict[str, int]  # candidate pairs each rule produced (before the union)
    skipped_blocks: dict[str, int]  # blocks over max_block_size each rule skipped
    parameters: dict[str, Any]  # fitted m, u and λ; JSON-serializable

    def parts(self, pairs: pd.DataFrame | None = None) -> pd.Series:
        """comparison -> {level, weight} per pair (all pairs by default), for a steward."""
        return explain(self.pairs if pairs is None else pairs)


def _positions(index: pd.Index, links: Iterable[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of decided pairs; decisions about records not in this run are skipped."""
    frame = pd.DataFrame(list(links), columns=["a", "b"], dtype=object)
    if frame.empty:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    a, b = index.get_indexer(frame["a"]), index.get_indexer(frame["b"])
    known = (a >= 0) & (b >= 0) & (a != b)
    return a[known].astype(np.int64), b[known].astype(np.int64)


def _learn_lower(
    labels: Labels, probability: np.ndarray, settings: MatchSettings, parameters: dict[str, Any]
) -> MatchSettings:
    """Settings with the possible-match threshold the labels support, noted in ``parameters``
    with how the held-out labels fare under it."""
    lower = learnt_lower(labels, probability, lower=settings.lower, upper=settings.upper)
    learnt = replace(settings, lower=lower)
    parameters["labels"]["lower"] = {
        "configured": settings.lower,
        "learnt": lower,
        "supported": supported_lower(labels, probability),  # under any configured lower
    }
    parameters["labels"]["held_out_check"] = held_out_check(
        labels, probability, upper=learnt.upper, lower=learnt.lower
    )
    return learnt


def _note_review_changes(
    parameters: dict[str, Any],
    levels: pd.DataFrame,
    tf: TermFrequencies,
    probability: np.ndarray,
    labels: Labels,
    settled: np.ndarray,
    configured: MatchSettings,
    learnt: MatchSettings,
) -> None:
    """parameters["labels"]["review"]: the possible-match tasks the labels removed and added
    (labels.review_changes), when a steward decided any pair."""
    if not len(labels.rows):
        return
    em_probability = score(levels, tf, em_only(parameters))["match_probability"].to_numpy()
    settled = settled.copy()
    settled[labels.rows] = True
    parameters["labels"]["review"] = review_changes(
        em_probability,
        probability,
        settled=settled,
        configured_lower=configured.lower,
        lower=learnt.lower,
        upper=learnt.upper,
    )


def _never_merged(
    features: Features,
    left: np.ndarray,
    right: np.ndarray,
    levels: pd.DataFrame,
    cannot: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Pairs no threshold merges: cannot-links (households included) and two different ids."""
    vetoed = isin(pair_codes(left, right, features.size), pair_codes(*cannot, features.size))
    return vetoed | (levels["id"].to_numpy() == level("id", "conflict"))


def _cluster(
    features: Features,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    settings: MatchSettings,
    must: tuple[np.ndarray, np.ndarray],
    cannot: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Cluster position per record: pairs at or above ``upper`` merge, never joining two
    different checked ids of one type (resident IDs, national ids with a check digit) or a
    cannot-link pair (full and incremental runs alike)."""
    return cluster(
        features.size,
        left,
        right,
        probability,
        threshold=settings.upper,
        identity=np.where(features.id_checked, features.id_number.codes, -1),
        identity_kind=features.id_type,
        must_link=must,
        cannot_link=cannot,
        rank=features.rank,
    )


def _levels(
    features: Features,
    left: np.ndarray,
    right: np.ndarray,
    settings: MatchSettings,
    compare_pairs: ComparePairs = compare,
) -> pd.DataFrame:
    """Comparison levels under the settings' cutoffs; a comparison switched off is null on
    every pair, so it weighs nothing and teaches nothing."""
    levels = compare_pairs(features, left, right, settings.cutoffs)
    for name in settings.comparisons_off:
        levels[name] = NULL
    return levels


_FAMILY_AGREES = [
    level("name", name)
    for name in ("latin_family_only", "latin_initial", "latin_similar", "latin_exact")
]


def _with_households(
    cannot: tuple[np.ndarray, np.ndarray],
    levels: pd.DataFrame,
    left: np.ndarray,
    right: np.ndarray,
    settings: MatchSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Cannot-link pairs plus those under one family name that are two people: spouses,
    parents and children share an address and a phone, which no score may outweigh (SPEC §4).

    Under one family name, two people are told by unrelated given names; by birth dates of
    different years that no typo or day/month swap explains (a father and his son of the
    same name, Jr. and Sr.); or, where a given name is only an initial, by gender (J. Pacheco,
    a man, is not Jamie Pacheco, a woman, at the same address). Cannot-links also stop a chain
    through an initial (A. Walker) or through a record that lacks the birth date. A pair
    sharing an id number exactly is one person whatever its names say, and so is one sharing
    an e-mail and a birth date (only twins share a family name and a birth date, and they
    do not share a mailbox): its given names are spellings the comparison did not know.
    Off (``settings.households``), the score alone decides."""
    name = levels["name"].to_numpy()
    family = np.isin(name, _FAMILY_AGREES)
    household = (name == level("name", "latin_family_only")) & ~(
        (levels["email"].to_numpy() == level("email", "exact"))
        & (levels["birth_date"].to_numpy() == level("birth_date", "exact"))
    )
    household |= family & (levels["birth_date"].to_numpy() == level("birth_date", "different"))
    household |= (name == level("name", "latin_initial")) & (
        levels["gender"].to_numpy() == level("gender", "disagree")
    )
    household &= levels["id"].to_numpy() != level("id", "exact")  # one document: one person
    household &= settings.households
    return np.r_[cannot[0], left[household]], np.r_[cannot[1], right[household]]


def match_records(
    records: pd.DataFrame,
    *,
    settings: MatchSettings = MatchSettings(),
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    features: Features | None = None,
    compare_pairs: ComparePairs = compare,
) -> MatchResult:
    """Find which records (index = record_key) are one person, and score every candidate pair.

    ``must_link`` / ``cannot_link`` are steward decisions (confirmed merge / not a match) as
    record_key pairs; they override scores. ``features``: prepare(records), when the caller
    has computed them already (for the records' stored keys, keys.record_keys).
    ``compare_pairs``: computes the candidate pairs' levels (compare.ComparePairs), here by
    default; flows/dask.py's computes them in parts on Dask workers.
    """
    if not records.index.is_unique:
        raise ValueError("records must have a unique record_key index")
    if features is None:
        features = prepare(records)
    elif features.size != len(records):
        raise ValueError(f"features of {features.size} records, but {len(records)} records")
    must = _positions(records.index, must_link)
    cannot = _positions(records.index, cannot_link)
    steward = (np.r_[must[0], cannot[0]], np.r_[must[1], cannot[1]])
    blocking = candidate_pairs(
        features,
        rules=settings.rules,
        max_block_size=settings.max_block_size,
        window=settings.window,
        extra=steward,
    )
    # Every comparison needs pairs that teach it: rules that only train where no prediction
    # rule leaves one free (blocking.TRAINING_RULES); their pairs are fitted on, then dropped.
    train_only = training_rules(
        blocking.pairs_per_rule,
        settings.rules,
        comparable(features),
        features,
        settings.max_block_size,
    )
    fitting = blocking
    if train_only:
        fitting = candidate_pairs(
            features,
            rules=settings.rules + train_only,
            max_block_size=settings.max_block_size,
            window=settings.window,
            extra=steward,
        )
    left = fitting.pairs["left"].to_numpy()
    levels = _levels(features, left, fitting.pairs["right"].to_numpy(), settings, compare_pairs)
    tf = term_frequencies(features, left, levels, fields=settings.term_frequency)
    training = TrainingSettings(
        u_sample_pairs=settings.u_sample_pairs, seed=settings.seed, cutoffs=settings.cutoffs
    )
    rule_mask = fitting.pairs["rule_mask"].to_numpy()
    # steward decisions among the fitted pairs teach m (mdm/matching/labels.py)
    labels = find_labels(features.keys, left, fitting.pairs["right"].to_numpy(), must, cannot)
    parameters = fit(features, levels, tf, rule_mask, fitting.rules, training, labels=labels)
    parameters["training"]["training_only_rules"] = [rule.name for rule in train_only]
    if train_only:
        # Both unions are sorted by pair code, so the predicted pairs keep blocking's order.
        training_bits = ((1 << len(train_only)) - 1) << len(settings.rules)
        predicted = (rule_mask & ~training_bits) != 0
        # the training union's pairs, levels and adjustments go before the predicted ones come
        del fitting, rule_mask, left, tf
        levels = levels.loc[predicted].reset_index(drop=True)
        del predicted
        tf = term_frequencies(
            features, blocking.pairs["left"].to_numpy(), levels, fields=settings.term_frequency
        )
    else:
        del fitting, rule_mask
    left = blocking.pairs["left"].to_numpy()
    right = blocking.pairs["right"].to_numpy()
    if train_only:  # the decided pairs are among the predicted ones (extra=steward): re-find them
        labels = find_labels(features.keys, left, right, must, cannot)
    scores = score(levels, tf, parameters)
    probability = scores["match_probability"].to_numpy()
    configured, settings = settings, _learn_lower(labels, probability, settings, parameters)
    cannot = _with_households(cannot, levels, left, right, settings)
    settled = _never_merged(features, left, right, levels, cannot)
    _note_review_changes(parameters, levels, tf, probability, labels, settled, configured, settings)
    del tf, settled, labels

    position = _cluster(features, left, right, probability, settings, must, cannot)
    keys = features.keys
    return MatchResult(
        clusters=pd.Series(keys[position], index=records.index, name="cluster", dtype=object),
        pairs=_pair_table(features, blocking, levels, scores, position, cannot, settings),
        blocking_counts=blocking.pairs_per_rule,
        skipped_blocks=blocking.skipped_blocks,
        parameters=parameters,
    )


def _pair_table(
    features: Features,
    blocking: Blocking,
    levels: pd.DataFrame,
    scores: pd.DataFrame,
    position: np.ndarray,
    cannot: tuple[np.ndarray, np.ndarray],
    settings: MatchSettings,
) -> pd.DataFrame:
    """MatchResult.pairs from the scored candidate pairs and each record's cluster position."""
    n, keys = features.size, features.keys
    left = blocking.pairs["left"].to_numpy()
    right = blocking.pairs["right"].to_numpy()
    probability = scores["match_probability"].to_numpy()
    vetoed = isin(pair_codes(left, right, n), pair_codes(*cannot, n))
    id_conflict = levels["id"].to_numpy() == level("id", "conflict")
    decision = np.select(
        [vetoed, position[left] == position[right], id_conflict, probability >= settings.lower],
        [DECISIONS.index(d) for d in ("cannot_link", "match", "cannot_link", "possible")],
        DECISIONS.index("non_match"),
    )
    columns: dict[str, Any] = {
        "left_key": pd.Series(keys[left], dtype=object),
        "right_key": pd.Series(keys[right], dtype=object),
        "rules": blocking.rule_names(blocking.pairs["rule_mask"].to_numpy()),
        "match_weight": scores["match_weight"].to_numpy(),
        "match_probability": probability,
        "decision": pd.Categorical.from_codes(decision, categories=DECISIONS),
    }
    del vetoed, id_conflict, decision
    for name, labels in COMPARISONS.items():
        columns[f"{name}_level"] = pd.Categorical.from_codes(
            levels[name].to_numpy() + 1, categories=["null", *labels]
        )
        columns[f"{name}_weight"] = scores[f"{name}_weight"].to_numpy()
    # One frame of the columns as they are: a copy of every pair's floats (and a column added
    # at a time is copied) came to half a gigabyte at a million records.
    return pd.DataFrame(columns, copy=False)


def fits(parameters: dict[str, Any] | None) -> bool:
    """Were saved parameters fitted for today's comparisons and levels?"""
    if not parameters or "comparisons" not in parameters:
        return False
    saved = parameters["comparisons"]
    return all(
        name in saved and saved[name].get("levels") == list(labels)
        for name, labels in COMPARISONS.items()
    )


def _touching(
    rule: BlockingRule, delta: np.ndarray, oversized: np.ndarray | None = None
) -> BlockingRule:
    """The rule with every key that no delta record holds blanked out: only blocks that hold a
    delta record are enumerated, and they keep their full size (so max_block_size still skips
    the blocks a full run skips). ``oversized``: records whose block among all records is too
    large for the rule (when ``features`` hold only part of the records), blanked too."""

    def key(features: Features) -> np.ndarray:
        codes = rule.key(features)
        if oversized is not None:
            codes = np.where(oversized, -1, codes)
        wanted = np.unique(codes[delta & (codes >= 0)])
        return np.where(np.isin(codes, wanted), codes, -1)

    return replace(rule, key=key)


def match_delta(
    records: pd.DataFrame,
    *,
    delta: pd.Index,
    customer_of: pd.Series,
    parameters: dict[str, Any],
    settings: MatchSettings = MatchSettings(),
    must_link: Iterable[tuple[str, str]] = (),
    cannot_link: Iterable[tuple[str, str]] = (),
    keys: pd.DataFrame | None = None,
    population: Population | None = None,
    compare_pairs: ComparePairs = compare,
) -> MatchResult:
    """Match only the ``delta`` records (new or changed) against all ``records``, with saved
    ``parameters``; every other record keeps its customer (``customer_of``) unscored.

    Candidate pairs are those with a delta record on one side. The customers those pairs could
    change (any customer reached by a pair at or above ``lower``, and the old customer of each
    changed record) are re-clustered: their unchanged members stay linked as by a steward's
    must-link, and the delta records join them by score under the usual hard-evidence rules.
    Records named in steward decisions count as changed, so a decision always takes effect.
    ``clusters`` holds those affected records only; term frequencies still come from all records.

    Only the delta's neighbourhood (mdm/matching/neighbourhood.py) and the other members of its
    records' customers are prepared and matched: every pair with a delta record lies within the
    neighbourhood, and every customer such a pair can change is then whole. The neighbourhood is
    found from ``keys`` (keys.record_keys of ``records``, in their order; the warehouse stores
    them, so a run need not compute them for records it did not bring); computed when omitted.
    ``customer_of`` is fastest indexed by ``records.index`` itself, and as a categorical.
    ``records`` may be only that part of the warehouse when ``population`` says how large its
    blocks and how common its values are in the whole (neighbourhood.Population).
    ``compare_pairs``: as for match_records.
    """
    if not records.index.is_unique:
        raise ValueError("records must have a unique record_key index")
    if not set(settings.rules) <= set(DEFAULT_RULES):
        # the neighbourhood is found from the stored keys of the default rules only
        raise ValueError("an incremental run blocks with (some of) the default rules only")
    must_link, cannot_link = list(must_link), list(cannot_link)
    is_delta = np.zeros(len(records), dtype=bool)
    is_delta[records.index.get_indexer(delta)] = True  # isin on a string index is far slower
    # A steward's decision may be newer than the last run: its records are rematched too.
    decided = _positions(records.index, [*must_link, *cannot_link])
    is_delta[np.r_[decided[0], decided[1]]] = True
    if keys is None:
        keys = record_keys(records)
    elif len(keys) != len(records):
        raise ValueError(f"keys for {len(keys)} records, but {len(records)} records")
    # equals() is instant for the same index or a view of it (Index.is_), as callers pass
    aligned = customer_of.index.equals(records.index)
    owners = customer_of if aligned else customer_of.reindex(records.index)
    near = find_neighbourhood(keys, is_delta, settings.max_block_size, population)
    # A customer the delta can change is re-clustered whole, so all its members take part.
    near_customers = owners.iloc[np.flatnonzero(near.members)].dropna().unique()
    chosen = np.flatnonzero(near.members | owners.isin(near_customers).to_numpy())
    records, is_delta = records.iloc[chosen], is_delta[chosen]
    owner = pd.factorize(owners.iloc[chosen].to_numpy(dtype=object), use_na_sentinel=True)[0]
    kept = np.where(is_delta, -1, owner)  # the customer each unchanged record had

    features = prepare(records)
    must = _positions(records.index, must_link)
    cannot = _positions(records.index, cannot_link)
    oversized = {rule: mask[chosen] for rule, mask in near.oversized.items()}
    blocking = candidate_pairs(
        features,
        rules=tuple(_touching(rule, is_delta, oversized.get(rule.name)) for rule in settings.rules),
        max_block_size=settings.max_block_size,
        window=settings.window,
        extra=(np.r_[must[0], cannot[0]], np.r_[must[1], cannot[1]]),
    )
    touches = (
        is_delta[blocking.pairs["left"].to_numpy()] | is_delta[blocking.pairs["right"].to_numpy()]
    )
    blocking = replace(blocking, pairs=blocking.pairs.loc[touches].reset_index(drop=True))
    left = blocking.pairs["left"].to_numpy()
    right = blocking.pairs["right"].to_numpy()
    levels = _levels(features, left, right, settings, compare_pairs)
    # Decisions since the model was fitted teach it now: decided records are always delta.
    labels = find_labels(features.keys, left, right, must, cannot)
    tf = term_frequencies(
        features,
        left,
        levels,
        near.shares,
        fields=settings.term_frequency,
        square_sums=near.square_sums,
    )
    parameters = with_labels(parameters, levels, tf, labels)
    scores = score(levels, tf, parameters)
    probability = scores["match_probability"].to_numpy()
    configured, settings = settings, _learn_lower(labels, probability, settings, parameters)

    # Customers a pair could join the delta to, and those a changed record leaves behind.
    close = probability >= settings.lower
    touched = np.unique(np.r_[kept[left[close]], kept[right[close]], owner[is_delta]])
    affected = is_delta | np.isin(kept, touched[touched >= 0])
    # Unchanged members of an affected customer stay together: a star of must-links.
    members = pd.Series(np.flatnonzero(affected & (kept >= 0)))
    hub = members.groupby(kept[members.to_numpy()]).transform("first")
    star = (hub.to_numpy(dtype=np.int64), members.to_numpy(dtype=np.int64))
    star_and_must = (np.r_[must[0], star[0]], np.r_[must[1], star[1]])
    cannot = _with_households(cannot, levels, left, right, settings)
    settled = _never_merged(features, left, right, levels, cannot)
    _note_review_changes(parameters, levels, tf, probability, labels, settled, configured, settings)
    position = _cluster(features, left, right, probability, settings, star_and_must, cannot)
    keys_of = features.keys
    return MatchResult(
        clusters=pd.Series(
            keys_of[position[affected]],
            index=records.index[affected],
            name="cluster",
            dtype=object,
        ),
        pairs=_pair_table(features, blocking, levels, scores, position, cannot, settings),
        blocking_counts=blocking.pairs_per_rule,
        skipped_blocks=blocking.skipped_blocks,
        parameters=parameters,
    )
