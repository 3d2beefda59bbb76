"""Incremental runs: only new and changed records are matched, customer ids never move."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers.warehouse_io import NEW_KEY, read, run_into, second_delivery

from flows.pipeline import RunSummary
from mdm.testbed.generate import generate


@pytest.fixture(scope="module")
def first_delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("first")
    generate(folder, customers=150, seed=11)
    return folder


def run(sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunSummary:
    return run_into(sources, url, monkeypatch, tmp_path, build_docs=False)


def customer_of(url: str) -> pd.Series:
    xref = read(url, "SELECT source_system, source_record_id, customer_id FROM customer_xref")
    return pd.Series(
        xref["customer_id"].to_numpy(),
        index=xref["source_system"] + ":" + xref["source_record_id"],
    ).sort_index()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_an_incremental_run_merges_new_records_and_updates_changed_ones(
    first_delivery: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = run(first_delivery, warehouse_url, monkeypatch, tmp_path)
    before = customer_of(warehouse_url)
    copied, changed = second_delivery(first_delivery, tmp_path / "second")

    second = run(tmp_path / "second", warehouse_url, monkeypatch, tmp_path)

    after = customer_of(warehouse_url)
    # only the new record's pairs were blocked and scored, not the whole warehouse's
    assert 0 < sum(second.blocking_counts.values()) < sum(first.blocking_counts.values()) / 5
    # the new record joins its person's customer; nobody else's customer id moves
    assert after[NEW_KEY] == before[copied]
    assert after.drop(NEW_KEY).equals(before)
    assert second.customers_created == 0
    assert second.customers_total == first.customers_total

    # the changed record's customer is updated and keeps a second version in its history
    customer_id = after[changed]
    golden = read(warehouse_url, f"SELECT email FROM customer WHERE customer_id = '{customer_id}'")
    assert golden["email"].tolist() == ["changed.address@example.com"]
    history = read(
        warehouse_url,
        "SELECT valid_to, fields FROM customer_history "
        f"WHERE customer_id = '{customer_id}' ORDER BY valid_from",
    )
    assert len(history) == 2
    assert history["valid_to"].isna().tolist() == [False, True]
    assert second.customers_updated >= 1

    # a third run of the same delivery finds nothing new and changes nothing
    third = run(tmp_path / "second", warehouse_url, monkeypatch, tmp_path)
    assert customer_of(warehouse_url).equals(after)
    assert sum(third.blocking_counts.values()) == 0
    assert (third.customers_created, third.customers_updated, third.customers_retired) == (0, 0, 0)
