"""Segments through the whole pipeline on generated data, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.warehouse_io import read, run_into
from sqlalchemy.orm import Session

from flows.pipeline import RunSummary
from mdm.channels.config import load_channels
from mdm.segments.config import load_segment_rules
from mdm.stewardship.actions import assign_tasks
from mdm.testbed.generate import AS_OF, generate

ALWAYS = {
    "value_tier",
    "contact_frequency",
    "value_quadrant",
    "rfm",
    "risk_profile",
    "lifecycle_stage",
    "churn_warning",
}


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("segment_channels")
    generate(folder, customers=150, seed=11)
    return folder


def run(sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunSummary:
    # the generated data is as of AS_OF: measuring from today would make everyone dormant
    return run_into(sources, url, monkeypatch, tmp_path, build_docs=False, as_of=AS_OF)


@pytest.mark.usefixtures("prefect_harness")
def test_a_changed_threshold_moves_exactly_the_affected_customers(
    channels_dir: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = run(channels_dir, warehouse_url, monkeypatch, tmp_path)

    segments = read(warehouse_url, "SELECT * FROM customer_segment")
    customers = read(warehouse_url, "SELECT customer_id, aum_cny FROM customer WHERE is_active")
    per_type = segments.groupby("segment_type")["customer_id"].nunique()
    assert all(per_type[name] == len(customers) for name in ALWAYS)
    assert {name for name in per_type.index if name.startswith("campaign_")} >= {
        "campaign_wealth_products",
        "campaign_bancassurance",
    }
    # a first run records every assignment as a move from nothing
    history = read(warehouse_url, "SELECT * FROM customer_segment_history")
    assert len(history) == len(segments) and history["old_value"].isna().all()
    assert set(pd.to_datetime(history["changed_on"]).dt.date) == {AS_OF}

    view = read(
        warehouse_url,
        "SELECT customer_id, value_tier, rfm_group, lifecycle_stage, next_contact_due "
        "FROM customer_360",
    )
    assert len(view) == len(customers) and view["lifecycle_stage"].notna().all()
    assert view["rfm_group"].nunique() > 2  # the transactions feed reached the customers
    assert (pd.to_datetime(view["next_contact_due"]).dt.date >= AS_OF).all()
    assert first.tasks_by_type.get("compliance", 0) > 0
    compliance = read(
        warehouse_url, "SELECT details FROM steward_task WHERE task_type = 'compliance'"
    )
    assert len(compliance) == first.tasks_by_type["compliance"]
    # each follow-up goes to the manager who owns the customer (SPEC §5), due by its deadline
    routed = read(
        warehouse_url,
        "SELECT t.task_id, t.assigned_to, t.due_on, t.rule, c.relationship_manager"
        " FROM steward_task t JOIN customer c ON c.customer_id = t.customer_id"
        " WHERE t.task_type = 'compliance'",
    )
    owned = routed[routed["relationship_manager"].notna()]
    assert len(owned) > 0 and (owned["assigned_to"] == owned["relationship_manager"]).all()
    assert routed.loc[routed["relationship_manager"].isna(), "assigned_to"].isna().all()
    expired = routed[routed["rule"] == "risk_assessment_expired"]
    assert len(expired) > 0
    assert (pd.to_datetime(expired["due_on"]).dt.date == dt.date.today()).all()
    # a steward gives one to someone else: the next run leaves that as it is
    moved_task = int(owned["task_id"].iloc[0])
    engine = sa.create_engine(warehouse_url)
    with Session(engine) as session, session.begin():
        assign_tasks(session, task_ids=[moved_task], to="team.compliance", by="zhao.lei")
    engine.dispose()

    # gold now starts at 250,000: exactly the customers in [200,000, 250,000) move to silver
    changed_dir = tmp_path / "changed"
    shutil.copytree(channels_dir, changed_dir)
    (changed_dir / "segments.yaml").write_text(
        "value_tier:\n  tiers:\n"
        "    - {name: diamond, min_aum_cny: 2000000, contact_every_days: 7}\n"
        "    - {name: platinum, min_aum_cny: 500000, contact_every_days: 14}\n"
        "    - {name: gold, min_aum_cny: 250000, contact_every_days: 30}\n"
        "    - {name: silver, min_aum_cny: 50000, contact_every_days: 60}\n"
        "    - {name: standard, min_aum_cny: 0, contact_every_days: 90}\n",
        encoding="utf-8",
    )
    second = run(changed_dir, warehouse_url, monkeypatch, tmp_path)
    moved = read(
        warehouse_url,
        "SELECT customer_id, segment_type, old_value, new_value, rule_version "
        "FROM customer_segment_history WHERE run_id = :run_id",
        run_id=second.run_id,
    )
    aum = customers.set_index("customer_id")["aum_cny"].astype(float)
    affected = sorted(aum[(aum >= 200_000) & (aum < 250_000)].index)
    assert affected, "the generated data has customers between the two thresholds"
    assert sorted(moved.loc[moved["segment_type"] == "value_tier", "customer_id"]) == affected
    assert sorted(moved.loc[moved["segment_type"] == "contact_frequency", "customer_id"]) == (
        affected
    )
    assert set(moved["segment_type"]) == {"value_tier", "contact_frequency"}
    tier_moves = moved[moved["segment_type"] == "value_tier"]
    assert set(zip(tier_moves["old_value"], tier_moves["new_value"], strict=True)) == {
        ("gold", "silver")
    }
    new_version = load_segment_rules(changed_dir / "segments.yaml").value_tier.version("value_tier")
    assert set(tier_moves["rule_version"]) == {new_version}
    tiers_now = read(
        warehouse_url,
        "SELECT rule_version FROM customer_segment WHERE segment_type = 'value_tier'",
    )
    assert set(tiers_now["rule_version"]) == {new_version}
    assert second.tasks_opened == 0  # the same evidence never opens a task twice
    kept = read(warehouse_url, f"SELECT assigned_to FROM steward_task WHERE task_id = {moved_task}")
    assert kept["assigned_to"].tolist() == ["team.compliance"]


@pytest.mark.usefixtures("prefect_harness")
def test_last_transaction_time_is_stored_as_the_china_instant(
    channels_dir: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Regression: China wall time written without a zone landed 8 hours off in PostgreSQL."""
    run(channels_dir, warehouse_url, monkeypatch, tmp_path)
    config = load_channels(channels_dir)
    xref = read(
        warehouse_url, "SELECT source_system, source_record_id, customer_id FROM customer_xref"
    )
    customer_of = dict(
        zip(
            xref["source_system"] + ":" + xref["source_record_id"], xref["customer_id"], strict=True
        )
    )
    feed_times = []
    for feed in config.transactions:
        (path,) = config.files(feed)
        rows = pd.read_csv(path, dtype=str, encoding=feed.encoding)
        refs = feed.ref_channel + ":" + rows[str(feed.columns["customer_ref"])]
        feed_times.append(
            pd.DataFrame(
                {
                    "customer_id": refs.map(customer_of),
                    "txn_at": pd.to_datetime(rows[str(feed.columns["txn_at"])], errors="coerce"),
                }
            )
        )
    expected = pd.concat(feed_times).dropna().groupby("customer_id")["txn_at"].max()

    stored = read(warehouse_url, "SELECT customer_id, last_txn_at FROM customer").dropna()
    moments = pd.to_datetime(stored["last_txn_at"])
    if isinstance(moments.dtype, pd.DatetimeTZDtype):  # PostgreSQL: an instant
        moments = moments.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    stored_wall = pd.Series(moments.to_numpy(), index=stored["customer_id"])
    assert len(expected) > 20
    assert (stored_wall.loc[expected.index] == expected).all()
