"""Dedupe: match records against each other and the warehouse's, merge each cluster into a golden
record, keep customer ids stable, and open tasks for what a steward decides.

A first run (or one whose saved model no longer fits, or that brings a large share of new data)
matches everything and fits the model. Later runs are incremental: only new and changed records
(by raw_hash) are matched, against everything, with the last run's model, and only the customers
they touch are re-survived; every other customer is carried over as the warehouse holds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from expectations.suites import golden_customer_suite
from expectations.verdicts import judge, prepare_checks
from flows.local_data import local_data_flow, unwalked
from mdm.matching import MatchResult, MatchSettings, fits, match_delta, match_records
from mdm.matching.keys import record_keys
from mdm.matching.survive import find_conflicts, survive
from mdm.schema import GOLDEN_FIELDS
from warehouse.store import FieldOverride, WarehouseState, format_customer_id

# Fields whose presence makes a customer file complete enough to serve [000 Q8, 003 basic info].
QUALITY_FIELDS = ("full_name", "id_number", "mobile", "birth_date", "address", "risk_level")


@dataclass
class DedupeResult:
    """Golden customers and how every record maps to them."""

    xref: pd.DataFrame  # index record_key: customer_id, match_score
    customers: (
        pd.DataFrame
    )  # index customer_id: GOLDEN_FIELDS, quality_score, count_sources, field_sources
    retired_customer_ids: list[str]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    blocking_counts: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    merges: int = 0  # records that joined another record's customer
    # records this run clustered (all on a full run): only their xref rows can have changed,
    # whether or not the run brought them (a merge moves the records of the customer it retires)
    rematched: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    # KEY_COLUMNS of the run's records, and of stored records whose keys must be rewritten
    match_keys: pd.DataFrame | None = None
    refreshed_keys: pd.DataFrame | None = None


def assign_customer_ids(
    clusters: pd.Series, existing: pd.Series, *, next_number: int
) -> tuple[pd.Series, list[str]]:
    """Give each cluster a customer id, keeping the ids earlier runs gave.

    A cluster keeps the existing id held by most of its records (ties: the oldest id). When
    clusters merge, the other ids retire; when a customer splits, the larger part keeps the id.
    Returns (cluster label -> customer_id, retired ids).
    """
    members = pd.DataFrame({"label": clusters, "customer_id": existing.reindex(clusters.index)})
    claims = (
        members.dropna(subset=["customer_id"])
        .groupby(["customer_id", "label"], sort=False)
        .size()
        .reset_index(name="votes")
        .sort_values(["votes", "customer_id", "label"], ascending=[False, True, True])
    )
    assigned: dict[Any, str] = {}
    taken: set[str] = set()
    for customer_id, label in zip(claims["customer_id"], claims["label"], strict=True):
        if label not in assigned and customer_id not in taken:
            assigned[label] = customer_id
            taken.add(customer_id)
    for label in sorted(set(clusters) - set(assigned), key=str):
        assigned[label] = format_customer_id(next_number)
        next_number += 1
    retired = sorted(set(existing.dropna()) - taken)
    return pd.Series(assigned, dtype=object, name="customer_id"), retired


def record_scores(result: MatchResult) -> pd.Series:
    """For each record, the strongest merge edge that holds it in its customer (1.0 alone)."""
    scores = pd.Series(1.0, index=result.clusters.index)
    merged = result.pairs[result.pairs["decision"] == "match"]
    if merged.empty:
        return scores
    same = (
        result.clusters.reindex(merged["left_key"]).to_numpy()
        == result.clusters.reindex(merged["right_key"]).to_numpy()
    )
    merged = merged[same]
    both = pd.concat(
        [
            merged[["left_key", "match_probability"]].rename(columns={"left_key": "key"}),
            merged[["right_key", "match_probability"]].rename(columns={"right_key": "key"}),
        ]
    )
    strongest = both.groupby("key")["match_probability"].max()
    scores.loc[strongest.index] = strongest
    return scores


def quality_score(golden: pd.DataFrame) -> pd.Series:
    """Share of the key fields that are filled (0..1)."""
    filled = golden[list(QUALITY_FIELDS)].notna().astype(float)
    return filled.mean(axis=1).round(3)


def _task_key(*parts: Any) -> str:
    text = ":".join(str(part) for part in parts)
    if len(text) <= 200:
        return text
    return text[:150] + ":" + hashlib.sha256(text.encode()).hexdigest()[:32]


def possible_match_tasks(result: MatchResult, customer_of: pd.Series) -> list[dict[str, Any]]:
    """A task per pair scored between the thresholds whose records ended in different customers."""
    possible = result.pairs[result.pairs["decision"] == "possible"]
    parts = result.parts(possible)
    tasks = []
    for row, why in zip(possible.itertuples(index=False), parts, strict=True):
        left, right = row.left_key, row.right_key
        tasks.append(
            {
                "task_key": _task_key("possible_match", left, right),
                "task_type": "possible_match",
                "priority": 2,
                "customer_id": customer_of[left],
                "source_system": left.partition(":")[0],
                "details": {
                    "left": left,
                    "right": right,
                    "left_customer_id": customer_of[left],
                    "right_customer_id": customer_of[right],
                    "match_probability": round(float(row.match_probability), 4),
                    "match_weight": round(float(row.match_weight), 3),
                    "parts": why,
                },
            }
        )
    return tasks


def conflict_tasks(conflicts: list[dict[str, Any]], id_of: pd.Series) -> list[dict[str, Any]]:
    """A task per golden record whose sources disagree on a critical field."""
    tasks = []
    for conflict in conflicts:
        customer_id = id_of[conflict["cluster"]]
        values = sorted(json.dumps(v["value"], default=str) for v in conflict["values"])
        digest = hashlib.sha256("|".join(values).encode()).hexdigest()[:16]
        tasks.append(
            {
                "task_key": _task_key("conflict", customer_id, conflict["field"], digest),
                "task_type": "conflict",
                "priority": 1 if conflict["field"] == "id_number" else 2,
                "customer_id": customer_id,
                "source_system": None,
                "details": {
                    "field": conflict["field"],
                    "values": [
                        {
                            **v,
                            "value": v["value"]
                            if not hasattr(v["value"], "isoformat")
                            else v["value"].isoformat(),
                        }
                        for v in conflict["values"]
                    ],
                },
            }
        )
    return tasks


def incomplete_tasks(customers: pd.DataFrame) -> list[dict[str, Any]]:
    """The golden-customer suite's warnings, one task per customer and rule."""
    expectations = golden_customer_suite().expectations
    verdicts = judge(prepare_checks(customers), expectations)
    tasks = []
    for customer_id, reasons in verdicts.reasons.items():
        for reason in reasons:
            tasks.append(
                {
                    "task_key": _task_key(reason["task"], customer_id, reason["rule"]),
                    "task_type": reason["task"],
                    "priority": 3,
                    "customer_id": customer_id,
                    "source_system": None,
                    "details": {key: reason[key] for key in ("field", "rule", "message")},
                }
            )
    return tasks


def invalid_tasks(warnings: list[dict[str, Any]], customer_of: pd.Series) -> list[dict[str, Any]]:
    """A task per validation warning on a record that was loaded."""
    return [
        {
            "task_key": _task_key(w["task"], w["record_key"], w["rule"], w["field"]),
            "task_type": w["task"],
            "priority": 2 if w["field"] == "id_number" else 3,
            "customer_id": customer_of.get(w["record_key"]),
            "source_system": w["source_system"],
            "details": {
                "record": w["record_key"],
                **{key: w[key] for key in ("field", "rule", "message")},
            },
        }
        for w in warnings
    ]


@task(cache_policy=NO_CACHE)
def match_task(
    records: pd.DataFrame, settings: MatchSettings, state: WarehouseState
) -> MatchResult:
    return match_records(
        records, settings=settings, must_link=state.must_link, cannot_link=state.cannot_link
    )


@task(cache_policy=NO_CACHE)
def match_delta_task(
    combined: Combined, delta: pd.Index, settings: MatchSettings, state: WarehouseState
) -> MatchResult:
    assert state.match_parameters is not None  # checked by incremental()
    return match_delta(
        combined.records,
        delta=delta,
        customer_of=combined.customer_of,
        parameters=state.match_parameters,
        settings=settings,
        must_link=state.must_link,
        cannot_link=state.cannot_link,
        keys=combined.keys,
    )


def changed_records(run_records: pd.DataFrame, state: WarehouseState) -> pd.Index:
    """Keys of this run's records that the warehouse lacks or holds with another raw hash."""
    before = state.raw_hashes.reindex(run_records.index)
    return run_records.index[before.to_numpy() != run_records["raw_hash"].to_numpy()]


def incremental(delta: pd.Index, state: WarehouseState, settings: MatchSettings) -> bool:
    """Match only the delta: there are customers, a saved model that fits, and little new data."""
    return (
        not state.customer_of.empty
        and fits(state.match_parameters)
        and len(delta) <= settings.incremental_share * len(state.records)
    )


@task(cache_policy=NO_CACHE)
def merge_task(
    records: pd.DataFrame,
    result: MatchResult,
    state: WarehouseState,
    warnings: list[dict[str, Any]],
) -> DedupeResult:
    """Golden records by survivorship, stable ids, and the tasks for stewards.

    Only the records ``result`` clustered (all on a full run, the affected ones on an incremental
    run) are re-survived; the other records and their customers are carried over unchanged.
    """
    matched = records.loc[result.clusters.index]
    id_of, retired = assign_customer_ids(
        result.clusters,
        state.customer_of.reindex(result.clusters.index).astype(object),
        next_number=state.next_customer_number,
    )
    golden, chosen_sources = survive(matched, result.clusters)
    golden = golden[list(GOLDEN_FIELDS)].copy()
    golden["count_sources"] = result.clusters.value_counts().reindex(golden.index).astype(int)
    sources = chosen_sources.reindex(golden.index)
    names = list(sources.columns)
    golden["field_sources"] = [  # zip over columns: to_dict("records") boxes every cell slowly
        {name: key for name, key in zip(names, row, strict=True) if key is not None}
        for row in zip(*(sources[name].to_numpy(dtype=object) for name in names), strict=True)
    ]
    golden.index = golden.index.map(id_of)
    golden.index.name = "customer_id"
    golden = apply_overrides(golden, state.field_overrides)
    golden["quality_score"] = quality_score(golden)

    xref = pd.DataFrame(
        {"customer_id": result.clusters.map(id_of), "match_score": record_scores(result)}
    )
    incomplete = incomplete_tasks(golden)
    # Both records of a possible match were re-clustered (a pair at or above `lower` touches
    # its customers), so the fresh xref answers them without a lookup table of every record.
    possible = possible_match_tasks(result, xref["customer_id"])
    carried_xref, carried_customers = carried_over(state, xref.index, golden.index)
    if len(carried_xref):
        xref = pd.concat([xref, carried_xref])
        golden = pd.concat([golden, carried_customers[golden.columns]])
    tasks = (
        possible
        + conflict_tasks(find_conflicts(matched, result.clusters), id_of)
        + incomplete
        + invalid_tasks(warnings, xref["customer_id"])
    )
    return DedupeResult(
        xref=xref,
        customers=golden,
        retired_customer_ids=retired,
        tasks=tasks,
        blocking_counts=result.blocking_counts,
        parameters=result.parameters,
        merges=len(xref) - len(golden),
        rematched=result.clusters.index,
    )


def carried_over(
    state: WarehouseState, matched: pd.Index, survived: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The warehouse's records this run did not re-cluster, with their customer and score, and
    the customers they keep (those not re-survived). Every record the warehouse maps is among
    the run's records (combine_with_state), so the warehouse's xref is the starting point.

    Boolean masks rather than index set operations: on a million records, sorting and
    re-hashing the keys cost more than the rest of an incremental merge.
    """
    held = state.customer_of
    untouched = np.ones(len(held), dtype=bool)
    positions = held.index.get_indexer(matched)  # the lookup table is built once per run
    untouched[positions[positions >= 0]] = False
    customer_ids = held[untouched]
    scores = state.match_scores
    if not scores.index.equals(held.index):
        scores = scores.reindex(held.index)
    xref = pd.DataFrame({"customer_id": customer_ids, "match_score": scores[untouched].fillna(1.0)})
    customers = pd.Index(state.customers.index, dtype=object)  # Arrow strings search slowly
    # unique() of a categorical (as read_state gives) looks at codes, not a million strings
    referenced = customers.isin(np.asarray(customer_ids.unique(), dtype=object))
    kept = referenced & ~customers.isin(survived)
    return xref, state.customers.loc[kept]


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


@dataclass(frozen=True)
class Combined:
    """This run's records plus the warehouse's records it did not bring again, and what the
    matcher needs of each, in the same order."""

    records: pd.DataFrame
    keys: pd.DataFrame | None  # KEY_COLUMNS: the run's computed now, the others' as stored
    customer_of: pd.Series  # each record's customer before this run (NaN: not in the warehouse)


def combine_with_state(
    run_records: pd.DataFrame, state: WarehouseState, run_keys: pd.DataFrame
) -> Combined:
    """The run's records and the warehouse's others, with their match keys (None when the state
    holds no keys) and their customers aligned, so the matcher looks nothing up by key."""
    stored = state.records.index
    owner = state.customer_of
    if not owner.index.equals(stored):  # read_state reads both in one order
        owner = owner.reindex(stored)
    found = stored.get_indexer(run_records.index)  # one lookup table, shared with raw_hashes
    earlier = np.ones(len(stored), dtype=bool)
    earlier[found[found >= 0]] = False
    brought = pd.Series(owner.array.take(found, allow_fill=True), index=run_records.index)
    customer_of = pd.concat([brought, owner.loc[earlier]])
    keys = None
    if state.match_keys is not None:
        keys = pd.concat([run_keys, state.match_keys.loc[earlier]])
    if not earlier.any():
        return Combined(run_records, keys, customer_of)
    columns = [c for c in run_records.columns if c in state.records.columns]
    records = pd.concat([run_records, state.records.loc[earlier, columns]])
    customer_of.index = records.index  # a view of it: the matcher sees they align at once
    return Combined(records, keys, customer_of)


def keys_to_refresh(run_keys: pd.DataFrame, state: WarehouseState) -> pd.DataFrame:
    """Keys for the stored records whose stored keys were missing or stale: the run's fresh keys
    for those it brought, the ones recomputed on reading for the rest."""
    stale = state.recomputed_keys
    if state.match_keys is None or stale.empty:
        return run_keys.iloc[:0]
    brought = stale.isin(run_keys.index)
    return pd.concat([run_keys.loc[stale[brought]], state.match_keys.loc[stale[~brought]]])


@local_data_flow(name="dedupe")
def dedupe_flow(
    run_records: pd.DataFrame,
    state: WarehouseState,
    settings: MatchSettings,
    warnings: list[dict[str, Any]],
) -> DedupeResult:
    """Match, cluster, merge; every record of the run and of the warehouse ends in one customer.

    Incremental when it can be (see the module docstring): the result is the same customers
    for the records that did not change, at a fraction of the work.
    """
    run_keys = record_keys(run_records)
    combined = combine_with_state(run_records, state, run_keys)
    records = combined.records
    decided = records.index.intersection(pd.Index(state.newly_decided, dtype=object))
    delta = changed_records(run_records, state).union(decided)
    if incremental(delta, state, settings):
        result = match_delta_task(unwalked(combined), delta, settings, unwalked(state))
    else:
        result = match_task(records, settings, unwalked(state))
    deduped = merge_task(records, unwalked(result), unwalked(state), unwalked(warnings))
    deduped.match_keys = run_keys
    deduped.refreshed_keys = keys_to_refresh(run_keys, state)
    return deduped
