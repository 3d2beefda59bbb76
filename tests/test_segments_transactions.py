"""The transactions feed: parsing, linking through the xref, the golden transaction fields."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from flows.enrich import with_transaction_fields
from mdm.channels.config import load_channels
from mdm.errors import ConfigError
from mdm.segments.profile import roll_up
from mdm.segments.transactions import link_transactions, parse_transactions


def mapped(*rows: tuple[str, str | None, str | None, str | None, str | None]) -> pd.DataFrame:
    """(txn id, customer_ref, txn_at, amount, product_risk) as the channel reader maps them."""
    return pd.DataFrame(
        {
            "source_system": "branch_txn",
            "source_record_id": [r[0] for r in rows],
            "source_file": "t.csv",
            "source_row": range(2, 2 + len(rows)),
            "raw_payload": "{}",
            "customer_ref": [r[1] for r in rows],
            "txn_at": [r[2] for r in rows],
            "amount_cny": [r[3] for r in rows],
            "product_code": "TD0001",
            "product_risk": [r[4] for r in rows],
        }
    )


def test_every_transaction_is_linked_or_rejected_with_its_reason() -> None:
    rows = mapped(
        ("T1", "6201", "2025-06-01 10:00:00", "1,234.50", "R2"),
        ("T2", "6202", "20250601", "10", "3"),
        ("T3", "6999", "2025-06-01", "10", None),  # no such branch record
        ("T4", None, "2025-06-01", "10", None),
        ("T5", "6201", "yesterday", "ten", None),
    )
    parsed, bad = parse_transactions(rows, ref_channel="branch")
    assert parsed["amount_cny"].tolist() == [1234.5, 10.0, 10.0]
    assert parsed["product_risk"].tolist()[:2] == [2.0, 3.0]
    assert parsed["ref_key"].tolist() == ["branch:6201", "branch:6202", "branch:6999"]
    reasons = dict(zip(bad["source_record_id"], bad["reasons"], strict=True))
    assert [r["rule"] for r in reasons["T4"]] == ["customer_ref_present"]
    assert [r["rule"] for r in reasons["T5"]] == ["txn_at_parses", "amount_parses"]

    customer_of = pd.Series({"branch:6201": "C1", "branch:6202": "C1"})
    linked, unknown = link_transactions(parsed, customer_of)
    assert linked["customer_id"].tolist() == ["C1", "C1"]
    assert unknown["source_record_id"].tolist() == ["T3"]
    assert unknown["reasons"].iloc[0][0]["rule"] == "customer_ref_known"
    assert len(linked) + len(unknown) + len(bad) == len(rows)


def test_golden_transaction_fields_come_from_the_feed() -> None:
    customers = pd.DataFrame(
        {
            "last_txn_at": [None, None],
            "txn_count_12m": [None, 7],
            "txn_amount_12m_cny": [None, 70.0],
            "product_risk_max": ["R4", None],
        },
        index=pd.Index(["C1", "C2"], name="customer_id"),
    )
    txns = pd.DataFrame(
        {
            "customer_id": ["C1", "C1", "C1"],
            "txn_at": pd.to_datetime(["2025-06-01 10:00", "2024-06-01 00:00", "2025-07-05 00:00"]),
            "amount_cny": [100.0, 50.0, 1.0],
            "product_code": ["TD1", "TD1", "TD1"],
            "product_risk": [2.0, 5.0, 1.0],
        }
    )
    activity = roll_up(txns, as_of=dt.date(2025, 6, 30), quiet_days=90, product_prefixes=())
    out = with_transaction_fields(customers, activity)
    # the July transaction is after the run date: not counted
    assert out.loc["C1", "last_txn_at"] == dt.datetime(2025, 6, 1, 10, 0)
    assert out.loc["C1", "txn_count_12m"] == 1  # 2024-06-01 is 394 days before
    assert out.loc["C1", "txn_amount_12m_cny"] == 100.0
    assert out.loc["C1", "product_risk_max"] == "R5"
    assert out.loc["C2", "txn_count_12m"] == 7  # no transactions in the feed: kept


def _channels(tmp_path: Path, feed: str) -> Path:
    (tmp_path / "b.csv").write_text("id,name\n1,张伟\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text("tid,ref,at,amt\n", encoding="utf-8")
    (tmp_path / "channels.yaml").write_text(
        "channels:\n"
        "  branch: {path: b.csv, record_id: id, columns: {full_name: name}}\n"
        f"  txn: {{kind: transactions, path: t.csv, record_id: tid, {feed}}}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_a_transactions_channel_is_kept_apart_from_customer_channels(tmp_path: Path) -> None:
    config = load_channels(
        _channels(
            tmp_path,
            "ref_channel: branch, columns: {customer_ref: ref, txn_at: at, amount_cny: amt}",
        )
    )
    assert [c.name for c in config.channels] == ["branch"]
    assert [c.name for c in config.transactions] == ["txn"]


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        (
            "ref_channel: app, columns: {customer_ref: ref, txn_at: at, amount_cny: amt}",
            "ref_channel 'app' is not a customer channel",
        ),
        ("ref_channel: branch, columns: {customer_ref: ref, txn_at: at}", "column 'amount_cny'"),
        (
            "ref_channel: branch, columns: {customer_ref: ref, txn_at: at, amount_cny: amt, "
            "mobile: m}",
            "unknown transaction field 'mobile'",
        ),
        ("columns: {customer_ref: ref, txn_at: at, amount_cny: amt}", "needs 'ref_channel'"),
    ],
)
def test_a_wrong_transactions_channel_is_one_line(tmp_path: Path, feed: str, message: str) -> None:
    with pytest.raises(ConfigError, match="channel 'txn'") as error:
        load_channels(_channels(tmp_path, feed))
    assert message in str(error.value)


def test_product_risk_read_as_before_in_every_spelling() -> None:
    """Risk levels are matched in Arrow now; the same values as upper-casing and matching
    `^R?([1-5])$` with Python's re a value at a time, odd spellings included."""
    spellings = [
        "R3",
        "r2",
        " 5 ",
        "R6",
        "RR1",
        "3\n",
        "ß",
        None,
        "",
        "Ｒ1",
        "R 1",
        "r5",
        "1.0",
        "١",
    ]
    rows = mapped(
        *((f"T{i}", "6201", "2025-06-01", "10", risk) for i, risk in enumerate(spellings))
    )
    parsed, bad = parse_transactions(rows.astype({"product_risk": object}), ref_channel="branch")
    assert bad.empty
    levels = [None if pd.isna(level) else level for level in parsed["product_risk"]]
    assert levels == [3, 2, 5, None, None, 3, None, None, None, None, None, 5, None, None]
    assert parsed["ref_key"].tolist() == ["branch:6201"] * len(spellings)


def test_times_with_and_without_an_offset_in_one_feed_are_all_china_local_time() -> None:
    """pandas refuses one column of both; a feed that started sending offsets one day must
    neither stop the run with a traceback nor lose its rows."""
    rows = mapped(
        ("T1", "1001", "2025-01-02 10:00:00", "100", "R2"),
        ("T2", "1001", "2025-01-02T10:00:00+08:00", "100", "R2"),
        ("T3", "1002", "2025-01-03T01:00:00Z", "100", "R2"),
        ("T4", "1002", "not a time", "100", "R2"),
        ("T5", "1002", "2025-01-04 08:00:00 UTC", "100", "R2"),  # a zone by name
    )
    parsed, bad = parse_transactions(rows, ref_channel="branch")
    assert list(parsed["txn_at"].astype(str)) == [
        "2025-01-02 10:00:00",
        "2025-01-02 10:00:00",
        "2025-01-03 09:00:00",
        "2025-01-04 16:00:00",
    ]
    assert bad["reasons"].map(lambda r: r[0]["rule"]).tolist() == ["txn_at_parses"]
