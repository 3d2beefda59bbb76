"""Dedupe: match records against each other and the warehouse's, merge each cluster into a golden
record, keep customer ids stable, and open tasks for what a steward decides.

A first run (or one whose saved model no longer fits, or that brings a large share of new data)
matches everything and fits the model. Later runs are incremental: only new and changed records
(by raw_hash) are matched, against everything, with the last run's model, and only the customers
they touch are re-survived; every other customer is carried over as the warehouse holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.local_data import local_data_flow, unwalked
from mdm.customer_ids import assign_customer_ids
from mdm.matching import MatchResult, MatchSettings, fits, match_delta, match_records
from mdm.matching.audit import AuditSample, automatic_merges, sample_merges
from mdm.matching.blocking import DEFAULT_RULES
from mdm.matching.compare import ComparePairs, compare
from mdm.matching.features import Features, prepare
from mdm.matching.golden import golden_records, record_scores
from mdm.matching.keys import record_keys
from mdm.matching.profile import match_profile
from mdm.matching.relations import merged_into, related_customers
from mdm.matching.survive import find_conflicts
from mdm.matching.whatif import score_histogram
from mdm.stewardship.run_tasks import (
    carried_fields,
    conflict_tasks,
    incomplete_tasks,
    invalid_tasks,
    merge_audit_tasks,
    possible_match_tasks,
)
from warehouse.state import WarehouseState

# pipeline_run.match_parameters key: the matching.yaml fingerprint the model was fitted under
MATCHING_CONFIG = "matching_config"


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
    # counts only, for the run report: weights against the thresholds, merges per rule, sizes
    match_profile: dict[str, Any] = field(default_factory=dict)
    # related customers (mdm/matching/relations.py) the run's pairs show; all of them when
    # ``matched_all`` (a full run), else those of the pairs with a new or changed record
    relationships: pd.DataFrame | None = None
    matched_all: bool = True
    # incremental: customers all of whose records were matched, so all of whose links were seen
    settled_customers: list[str] = field(default_factory=list)
    merged_into: dict[str, str] = field(default_factory=dict)  # retired id -> surviving id
    # the weights of the pairs a threshold can move, for what-if thresholds (counts only)
    score_histogram: dict[str, Any] = field(default_factory=dict)
    # automatic merges drawn for a steward's verdict, and every band's size (None: no audit)
    audit: AuditSample | None = None
    # customers and merges in the whole warehouse after the run (``customers`` holds the read
    # part only when the state was read partially)
    customers_total: int = 0
    # every stored record's keys after a run that read them all (record_match_key is rewritten)
    all_match_keys: pd.DataFrame | None = None


@task(cache_policy=NO_CACHE)
def match_task(
    records: pd.DataFrame,
    settings: MatchSettings,
    state: WarehouseState,
    features: Features | None = None,
    compare_pairs: ComparePairs | None = None,
) -> MatchResult:
    return match_records(
        records,
        settings=settings,
        must_link=state.must_link,
        cannot_link=state.cannot_link,
        features=features,
        compare_pairs=compare_pairs or compare,
    )


@task(cache_policy=NO_CACHE)
def match_delta_task(
    combined: Combined,
    delta: pd.Index,
    settings: MatchSettings,
    state: WarehouseState,
    compare_pairs: ComparePairs | None = None,
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
        population=state.partial.population if state.partial is not None else None,
        compare_pairs=compare_pairs or compare,
    )


def changed_records(run_records: pd.DataFrame, state: WarehouseState) -> pd.Index:
    """Keys of this run's records that the warehouse lacks or holds with another raw hash."""
    before = state.raw_hashes.reindex(run_records.index)
    return run_records.index[before.to_numpy() != run_records["raw_hash"].to_numpy()]


def incremental(delta: pd.Index, state: WarehouseState, settings: MatchSettings) -> bool:
    """Match only the delta: there are customers, a saved model that fits and was fitted under
    this matching.yaml, little new data, and no added blocking rule (the stored keys that find
    a delta's neighbourhood are the default rules')."""
    stored = state.partial.records_total if state.partial is not None else len(state.records)
    return (
        not (state.customer_of.empty and state.partial is None)
        and fits(state.match_parameters)
        and (state.match_parameters or {}).get(MATCHING_CONFIG, "") == settings.fingerprint
        and set(settings.rules) <= set(DEFAULT_RULES)
        and len(delta) <= settings.incremental_share * stored
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
    # A full run clusters every record, in their order: the records themselves, not a copy
    everyone = result.clusters.index.equals(records.index)
    matched = records if everyone else records.loc[result.clusters.index]
    id_of, retired = assign_customer_ids(
        result.clusters,
        state.customer_of.reindex(result.clusters.index).astype(object),
        next_number=state.next_customer_number,
    )
    golden = golden_records(matched, result.clusters, id_of, state.field_overrides)
    xref = pd.DataFrame(
        {"customer_id": result.clusters.map(id_of), "match_score": record_scores(result)}
    )
    customer_of = result.clusters.map(id_of)
    incomplete = incomplete_tasks(golden, carried_fields(matched, customer_of))
    # Both records of a possible match were re-clustered (a pair at or above `lower` touches
    # its customers), so the fresh xref answers them without a lookup table of every record.
    possible = possible_match_tasks(result, xref["customer_id"])
    carried_xref, carried_customers = carried_over(state, xref.index, golden.index)
    if len(carried_xref):
        xref = pd.concat([xref, carried_xref])
        # on a partial read, only the customers the run re-survived are enriched and written:
        # the neighbours' other customers keep their records, golden fields and segments
        if state.partial is None:
            golden = pd.concat([golden, carried_customers[golden.columns]])
    tasks = (
        possible
        + conflict_tasks(find_conflicts(matched, result.clusters), id_of)
        + incomplete
        + invalid_tasks(warnings, _customer_lookup(xref["customer_id"], state))
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
        relationships=related_customers(result.pairs, xref["customer_id"], records),
        merged_into=merged_into(
            state.customer_of.reindex(result.clusters.index), customer_of, retired
        ),
    )


def _customer_lookup(customer_of: pd.Series, state: WarehouseState) -> pd.Series:
    """Each record's customer after the run; on a partial read, also those of the run's records
    that it did not read (their customers cannot change)."""
    if state.partial is None:
        return customer_of
    owners = state.partial.brought_owners
    return pd.concat([customer_of, owners[~owners.index.isin(customer_of.index)]])


def settled_customers(customer_of: pd.Series, delta: pd.Index) -> list[str]:
    """Customers all of whose records are in the delta: an incremental run scored every pair
    they have, so a link of theirs it did not find is gone (a customer who moved house)."""
    touched = customer_of.reindex(delta).dropna().unique()
    members = customer_of[customer_of.isin(touched)]
    whole = pd.Series(members.index.isin(delta)).groupby(members.to_numpy()).all()
    return sorted(str(customer_id) for customer_id in whole.index[whole.to_numpy()])


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
    if state.partial is not None:  # the run's stored records, read or not, have their customer
        brought = state.partial.brought_owners.reindex(run_records.index).astype(object)
        owner = owner.astype(object)
    customer_of = pd.concat([brought, owner.loc[earlier]])
    keys = None
    if state.match_keys is not None:  # a first run's are the run's own: no copy of them
        keys = pd.concat([run_keys, state.match_keys.loc[earlier]]) if earlier.any() else run_keys
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
    compare_pairs: ComparePairs | None = None,
) -> DedupeResult:
    """Match, cluster, merge; every record of the run and of the warehouse ends in one customer.

    Incremental when it can be (see the module docstring): the result is the same customers
    for the records that did not change, at a fraction of the work. ``compare_pairs`` computes
    the candidate pairs' levels (in parts on Dask workers: flows/dask.py `OnWorkers`); None:
    compare.compare, here.
    """
    partial = state.partial
    # A first run matches exactly its own records: their stored keys and the matcher share
    # one preparing of them (keys.record_keys).
    first_run = partial is None and state.records.empty
    features = prepare(run_records) if first_run else None
    run_keys = partial.run_keys if partial is not None else record_keys(run_records, features)
    combined = combine_with_state(run_records, state, run_keys)
    records = combined.records
    decided = records.index.intersection(pd.Index(state.newly_decided, dtype=object))
    delta = changed_records(run_records, state).union(decided)
    matched_all = not incremental(delta, state, settings)
    if partial is not None and matched_all:  # the pipeline reads partially only when it is not
        raise ValueError("a partially read warehouse state needs an incremental run")
    if matched_all:
        shared = features if records is run_records else None
        result = match_task(
            records, settings, unwalked(state), unwalked(shared), unwalked(compare_pairs)
        )
        del shared
    else:
        result = match_delta_task(
            unwalked(combined), delta, settings, unwalked(state), unwalked(compare_pairs)
        )
    del features  # a million records' keys and values: nothing after matching reads them
    deduped = merge_task(records, unwalked(result), unwalked(state), unwalked(warnings))
    deduped.matched_all = matched_all
    if not matched_all:
        deduped.settled_customers = settled_customers(deduped.xref["customer_id"], delta)
    if settings.fingerprint:
        deduped.parameters = {**deduped.parameters, MATCHING_CONFIG: settings.fingerprint}
    deduped.match_keys = run_keys
    if partial is None:
        deduped.customers_total = len(deduped.customers)
        deduped.all_match_keys = combined.keys
    else:
        deduped.customers_total = (
            partial.customers_elsewhere + deduped.xref["customer_id"].nunique()
        )
        stored_after = partial.records_total + len(run_records) - len(partial.brought_owners)
        deduped.merges = stored_after - deduped.customers_total
    deduped.refreshed_keys = keys_to_refresh(run_keys, state)
    deduped.match_profile = match_profile(
        result.pairs, result.clusters, upper=settings.upper, lower=settings.lower
    )
    lower = (result.parameters.get("labels") or {}).get("lower") or {}
    deduped.score_histogram = score_histogram(
        result.pairs,
        upper=settings.upper,
        lower=lower.get("learnt", settings.lower),
        supported_lower=lower.get("supported"),
        decided=state.must_link,
        matched_all=matched_all,
    )
    if settings.audit_sample:
        audit_merges(deduped, result, state, settings)
    return deduped


def audit_merges(
    deduped: DedupeResult, result: MatchResult, state: WarehouseState, settings: MatchSettings
) -> None:
    """Draw the run's sample of automatic merges and open a merge_audit task for each."""
    merged = automatic_merges(result.pairs, upper=settings.upper, decided=state.must_link)
    deduped.audit = sample_merges(
        merged, upper=settings.upper, size=settings.audit_sample, seed=settings.audit_seed
    )
    deduped.tasks += merge_audit_tasks(result, deduped.audit, deduped.xref["customer_id"])
