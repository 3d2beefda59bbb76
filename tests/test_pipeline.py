"""The whole pipeline, end to end on generated channels, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.warehouse_io import read, run_into

from flows.pipeline import RunSummary
from mdm.errors import MdmError
from mdm.testbed.generate import generate

TABLES = (
    "customer",
    "customer_xref",
    "customer_history",
    "customer_segment",
    "steward_task",
    "quarantine",
    "source_record",
)


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("channels")
    generate(folder, customers=150, seed=11)
    return folder


def run(sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunSummary:
    return run_into(sources, url, monkeypatch, tmp_path)


def table_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in TABLES
        }
    engine.dispose()
    return counts


def assert_no_personal_data_in_report(index: Path, url: str) -> None:
    """The Data Docs carry counts and rules, never an ID number, phone or email."""
    assert index.name == "index.html" and index.is_file()
    secrets = read(url, "SELECT id_number, mobile, email FROM customer").stack().dropna()
    secrets = {str(value) for value in secrets if len(str(value)) >= 6}
    assert len(secrets) > 100
    for page in index.parent.rglob("*"):
        if page.suffix in {".html", ".json", ".js"}:
            text = page.read_text(encoding="utf-8", errors="ignore")
            leaked = [value for value in secrets if value in text]
            assert not leaked, f"{page} shows {len(leaked)} personal values"


@pytest.mark.usefixtures("prefect_harness")
def test_every_row_lands_once_and_a_rerun_changes_nothing(
    channels_dir: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = run(channels_dir, warehouse_url, monkeypatch, tmp_path)

    truth = pd.read_csv(channels_dir / "truth.csv", dtype=str)
    truth_keys = sorted(truth["source_system"] + ":" + truth["source_record_id"])
    xref = read(
        warehouse_url, "SELECT source_system, source_record_id, customer_id FROM customer_xref"
    )
    quarantine = read(
        warehouse_url,
        f"SELECT source_system, source_record_id FROM quarantine WHERE run_id = '{first.run_id}'",
    )
    feeds = quarantine["source_system"].isin(list(first.transactions_read))
    # every transaction is rolled up to a customer or quarantined
    assert sum(first.transactions_read.values()) == first.transactions_linked + feeds.sum()
    assert 0 < feeds.sum() < first.transactions_linked
    quarantine = quarantine[~feeds]
    landed = sorted(
        list(xref["source_system"] + ":" + xref["source_record_id"])
        + list(quarantine["source_system"] + ":" + quarantine["source_record_id"])
    )
    assert landed == truth_keys  # every input row exactly once, in xref or quarantine
    assert sum(first.rows_read.values()) == len(truth_keys)
    assert sum(first.quarantined.values()) == len(quarantine) + feeds.sum() > 0
    assert first.customers_created == first.customers_total > 0
    assert first.merges > 0 and first.tasks_opened > 0

    customers = read(warehouse_url, "SELECT customer_id, count_sources FROM customer")
    per_customer = xref.groupby("customer_id").size()
    assert per_customer.sort_index().tolist() == (
        customers.set_index("customer_id")["count_sources"].sort_index().tolist()
    )
    view = read(warehouse_url, "SELECT customer_id, value_tier FROM customer_360")
    assert len(view) == len(customers)
    assert set(view["value_tier"]) <= {"diamond", "platinum", "gold", "silver", "standard"}
    assert view["value_tier"].notna().all()

    assert_no_personal_data_in_report(Path(first.report_path or ""), warehouse_url)

    before = table_counts(warehouse_url)
    second = run(channels_dir, warehouse_url, monkeypatch, tmp_path)
    after = table_counts(warehouse_url)
    xref_again = read(
        warehouse_url, "SELECT source_system, source_record_id, customer_id FROM customer_xref"
    )
    assert (
        xref_again.sort_values(["source_system", "source_record_id"])
        .reset_index(drop=True)
        .equals(xref.sort_values(["source_system", "source_record_id"]).reset_index(drop=True))
    )
    assert (second.customers_created, second.customers_updated, second.customers_retired) == (
        0,
        0,
        0,
    )
    assert second.tasks_opened == 0
    # the second run adds its own quarantine rows; nothing else grows
    assert after == {**before, "quarantine": before["quarantine"] * 2}
    runs = read(warehouse_url, "SELECT status FROM pipeline_run")
    assert runs["status"].tolist() == ["success", "success"]


@pytest.mark.usefixtures("prefect_harness")
def test_prefect_records_no_customer_data_as_flow_parameters(
    channels_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Prefect stores flow run parameters in its own database: the subflows that take records
    must leave only type names there, never names, ID numbers, phones or emails."""
    from prefect.client.orchestration import get_client

    summary = run(channels_dir, sqlite_url, monkeypatch, tmp_path)
    secrets = read(sqlite_url, "SELECT full_name, id_number, mobile, email FROM customer")
    secrets = {str(v) for v in secrets.stack().dropna() if len(str(v)) >= 2}
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
        names = {run.flow_id: client.read_flow(run.flow_id).name for run in runs}
    subflows = [run for run in runs if names[run.flow_id] in ("validate", "dedupe", "enrich")]
    assert {names[run.flow_id] for run in subflows} == {"validate", "dedupe", "enrich"}
    for subflow in subflows:  # each parameter is a placeholder such as "<DataFrame>"
        values = subflow.parameters.values()
        assert values and all(str(value).startswith("<") for value in values), subflow.parameters
    recorded = repr([run.parameters for run in runs])  # every flow run, the pipeline's too
    assert len(secrets) > 100 and not [value for value in secrets if value in recorded]
    assert summary.customers_total > 0


@pytest.mark.usefixtures("prefect_harness")
def test_a_broken_channel_leaves_the_warehouse_untouched(
    channels_dir: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run(channels_dir, warehouse_url, monkeypatch, tmp_path)
    before = table_counts(warehouse_url)

    broken = tmp_path / "broken"
    shutil.copytree(channels_dir, broken)
    config = (broken / "channels.yaml").read_text(encoding="utf-8")
    (broken / "channels.yaml").write_text(
        config.replace("full_name: 姓名", "full_name: 名字"), encoding="utf-8"
    )
    with pytest.raises(MdmError, match=r"branch_customers\.csv: channel 'branch': column '名字'"):
        run(broken, warehouse_url, monkeypatch, tmp_path)

    wrong_encoding = tmp_path / "wrong_encoding"
    shutil.copytree(channels_dir, wrong_encoding)
    config = (wrong_encoding / "channels.yaml").read_text(encoding="utf-8")
    (wrong_encoding / "channels.yaml").write_text(
        config.replace("encoding: gb18030", "encoding: utf-8"), encoding="utf-8"
    )
    with pytest.raises(
        MdmError, match=r"branch_customers\.csv: line 1: byte 0x\w\w is not valid utf-8"
    ):
        run(wrong_encoding, warehouse_url, monkeypatch, tmp_path)

    (broken / "channels.yaml").write_text(
        config.replace("fund_platform.xlsx", "gone.xlsx"), encoding="utf-8"
    )
    with pytest.raises(MdmError, match=r"channel 'fund': no file matches path 'gone\.xlsx'"):
        run(broken, warehouse_url, monkeypatch, tmp_path)

    assert table_counts(warehouse_url) == before
