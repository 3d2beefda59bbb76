"""Incremental runs read only their delta's neighbourhood (issue 13): the records sharing a
blocking key with the delivery's records, found through `record_match_key`, every member of
their customers, and the term frequencies from `term_frequency`; and they match exactly as a run
that read the whole warehouse."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.warehouse_io import read, run_into
from sqlalchemy.orm import Session

from bench.delivery import split_delivery
from flows.dedupe import DedupeResult, dedupe_flow, incremental
from flows.ingest import ingest_flow
from flows.pipeline import RunSettings, matching_settings
from flows.validate import validate_flow
from mdm.channels.config import load_channels
from mdm.matching import MatchSettings
from mdm.matching.keys import KEY_COLUMNS, VALUE_FIELDS
from mdm.testbed.generate import generate
from warehouse.db import create_warehouse_engine
from warehouse.delta_state import read_partial_state
from warehouse.load.match_keys import value_counts
from warehouse.state import WarehouseState, read_state


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A warehouse's first delivery and a later one of 60 records it does not hold."""
    generated = tmp_path_factory.mktemp("generated")
    generate(generated, customers=500, seed=17)
    return split_delivery(generated, tmp_path_factory.mktemp("split"), 60, seed=3)


def _run_records(sources: Path) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """The delivery's valid records and warnings, as the run validates them."""
    batches = ingest_flow(load_channels(sources))
    validation = validate_flow(pd.concat([batch.records for batch in batches]), None)
    return validation.valid, validation.warnings


def _states(url: str, records: pd.DataFrame, settings: MatchSettings) -> tuple[Any, Any, int]:
    engine = create_warehouse_engine(url)
    try:
        with Session(engine) as session:
            partial = read_partial_state(
                session,
                records,
                max_block_size=settings.max_block_size,
                incremental_share=settings.incremental_share,
            )
            full = read_state(session)
            stored = session.scalar(sa.text("SELECT count(*) FROM source_record"))
    finally:
        engine.dispose()
    return partial, full, int(stored or 0)


def _same_dedupe(got: DedupeResult, expected: DedupeResult) -> None:
    assert not got.matched_all and not expected.matched_all
    assert sorted(got.rematched) == sorted(expected.rematched)
    pd.testing.assert_frame_equal(
        got.xref.loc[got.rematched].sort_index(),
        expected.xref.loc[expected.rematched].sort_index(),
        check_exact=False,
        rtol=1e-9,
        check_names=False,
    )
    assert got.customers_total == expected.customers_total
    assert got.merges == expected.merges
    assert sorted(got.retired_customer_ids) == sorted(expected.retired_customer_ids)
    assert sorted(t["task_key"] for t in got.tasks) == sorted(t["task_key"] for t in expected.tasks)


def _stored_term_frequencies(url: str) -> dict[str, pd.Series]:
    table = read(url, "SELECT field, value_hash, records FROM term_frequency")
    return {
        field: table.loc[table["field"] == field].set_index("value_hash")["records"].sort_index()
        for field in VALUE_FIELDS
    }


def _check_key_tables(url: str) -> None:
    """record_match_key holds every stored record's keys, and term_frequency how many of them
    hold each value, as counted on every record (read_state's keys are the stored blobs)."""
    engine = create_warehouse_engine(url)
    try:
        with Session(engine) as session:
            state = read_state(session)
    finally:
        engine.dispose()
    assert state.match_keys is not None
    indexed = read(url, "SELECT * FROM record_match_key")
    indexed.index = pd.Index(
        indexed["source_system"] + ":" + indexed["source_record_id"], dtype=object
    )
    pd.testing.assert_frame_equal(
        indexed[list(KEY_COLUMNS)].astype(np.int64).sort_index(),
        state.match_keys.sort_index(),
        check_names=False,
    )
    expected = value_counts(state.match_keys)
    stored = _stored_term_frequencies(url)
    for field in VALUE_FIELDS:
        counted = expected[field].sort_index()
        assert stored[field].to_numpy().tolist() == counted.to_numpy().tolist(), field
        assert stored[field].index.tolist() == counted.index.tolist(), field


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_an_incremental_run_reads_only_the_neighbourhood_and_matches_as_a_full_read(
    deliveries: tuple[Path, Path],
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    base, delivery = deliveries
    run_into(base, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    _check_key_tables(warehouse_url)
    records, warnings = _run_records(delivery)
    settings = matching_settings(RunSettings(sources_dir=delivery))

    partial, full, stored = _states(warehouse_url, records, settings)

    assert isinstance(partial, WarehouseState) and partial.partial is not None
    assert partial.partial.records_total == stored == len(full.records)
    # rows read: the neighbourhood and its customers, a part of the warehouse
    assert 0 < len(partial.records) < stored / 3
    assert len(partial.customers) < len(full.customers) / 3
    assert incremental(partial.partial.delta, partial, settings)
    expected = dedupe_flow(records, full, settings, warnings)
    got = dedupe_flow(records, partial, settings, warnings)
    _same_dedupe(got, expected)

    # blocks too large for a rule, counted in the whole warehouse, not in the part read
    small_blocks = replace(settings, max_block_size=2)
    partial, full, _ = _states(warehouse_url, records, small_blocks)
    _same_dedupe(
        dedupe_flow(records, partial, small_blocks, warnings),
        dedupe_flow(records, full, small_blocks, warnings),
    )

    summary = run_into(delivery, warehouse_url, monkeypatch, tmp_path, build_docs=False)

    xref = read(
        warehouse_url, "SELECT source_system, source_record_id, customer_id FROM customer_xref"
    )
    landed = pd.Series(
        xref["customer_id"].to_numpy(), index=xref["source_system"] + ":" + xref["source_record_id"]
    ).sort_index()
    assert landed.to_dict() == expected.xref["customer_id"].astype(str).sort_index().to_dict()
    assert summary.customers_total == expected.customers_total
    assert summary.timings["read"] > 0
    _check_key_tables(warehouse_url)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_partial_read_gives_its_customers_members_as_a_full_read_does(
    deliveries: tuple[Path, Path],
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Each customer the neighbourhood reaches is read whole (xref rows, documents and keys
    in one statement), in the primary key's order as read_state reads it; the records the run
    brings again are members, but only their new form is matched (their stored one not read)."""
    base, delivery = deliveries
    run_into(base, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    records, _ = _run_records(delivery)
    settings = matching_settings(RunSettings(sources_dir=delivery))
    engine = create_warehouse_engine(warehouse_url)
    try:
        with Session(engine) as session:
            full = read_state(session)
            # stored records brought again, changed: every tenth, so several customers
            again = full.records.iloc[::10].iloc[:20].assign(raw_hash="changed")
            run_records = pd.concat([records, again])
            partial = read_partial_state(
                session,
                run_records,
                max_block_size=settings.max_block_size,
                incremental_share=settings.incremental_share,
            )
    finally:
        engine.dispose()
    assert partial is not None and full.match_keys is not None

    members = partial.customer_of.index
    customers = set(partial.customer_of.astype(str))
    whole = full.customer_of.index[full.customer_of.astype(str).isin(customers)]
    assert members.equals(whole)  # every member of each customer read, in read_state's order
    assert 0 < len(members) < len(full.records)
    assert again.index.isin(members).all()
    pd.testing.assert_series_equal(
        partial.customer_of.astype(str),
        full.customer_of.loc[members].astype(str),
        check_names=False,
    )
    pd.testing.assert_series_equal(
        partial.match_scores, full.match_scores.loc[members], check_names=False
    )

    earlier = members.difference(run_records.index, sort=False)
    assert not partial.records.index.isin(again.index).any()
    pd.testing.assert_frame_equal(partial.records, full.records.loc[earlier])
    assert partial.match_keys is not None
    pd.testing.assert_frame_equal(partial.match_keys, full.match_keys.loc[earlier])
