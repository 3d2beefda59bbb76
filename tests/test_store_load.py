"""The load writes what changed and nothing else: a rerun of the same delivery writes no customer,
cross-reference or source record, and a changed record rewrites only the rows it affects."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.warehouse_io import NEW_KEY, read, run_into, second_delivery
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from flows.pipeline import RunSummary
from mdm.schema import GOLDEN_FIELDS
from mdm.testbed.generate import generate
from warehouse.db import create_warehouse_engine, migrate
from warehouse.load.customers import write_customers
from warehouse.load.records import write_source_records, write_xref
from warehouse.run_output import RunOutput

LOADED_TABLES = (
    "customer",
    "customer_history",
    "customer_xref",
    "source_record",
    "customer_segment",
    "customer_segment_history",
)
# COPY: the PostgreSQL load's bulk insert (warehouse/load/bulk.py)
DML = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+"?(\w+)', re.IGNORECASE)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("delivery")
    generate(folder, customers=150, seed=11)
    return folder


def run(sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunSummary:
    return run_into(sources, url, monkeypatch, tmp_path, build_docs=False)


@contextmanager
def statements_by_table() -> Iterator[Counter[str]]:
    """INSERT, UPDATE and DELETE statements sent to any database while inside, by table."""
    counts: Counter[str] = Counter()

    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        match = DML.match(statement)
        if match:
            counts[match.group(1).lower()] += 1

    sa.event.listen(Engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        sa.event.remove(Engine, "before_cursor_execute", count)


def by_key(frame: pd.DataFrame, key: list[str]) -> dict[Any, dict[str, Any]]:
    """Rows by key, nulls as None so that two reads of an unchanged row compare equal."""
    frame = frame.astype(object).where(frame.notna(), None)
    rows = frame.set_index(key).to_dict("index")
    return {k if len(key) == 1 else ":".join(k): row for k, row in rows.items()}


def differing(
    before: dict[Any, dict[str, Any]], after: dict[Any, dict[str, Any]], columns: list[str]
) -> set[Any]:
    """Keys that are new in `after` or whose `columns` differ from `before`."""
    return {
        key
        for key, row in after.items()
        if key not in before or any(row[c] != before[key][c] for c in columns)
    }


def snapshot(url: str) -> dict[str, dict[Any, dict[str, Any]]]:
    return {
        "customer": by_key(read(url, "SELECT * FROM customer"), ["customer_id"]),
        "customer_xref": by_key(
            read(url, "SELECT * FROM customer_xref"), ["source_system", "source_record_id"]
        ),
        "source_record": by_key(
            read(
                url,
                "SELECT source_system, source_record_id, raw_hash, last_run_id, ingested_at "
                "FROM source_record",
            ),
            ["source_system", "source_record_id"],
        ),
    }


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_an_unchanged_rerun_writes_no_customer_xref_or_source_record(
    delivery: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = run(delivery, warehouse_url, monkeypatch, tmp_path)
    before = snapshot(warehouse_url)

    with statements_by_table() as statements:
        second = run(delivery, warehouse_url, monkeypatch, tmp_path)

    # the listener does see the load: the rerun quarantines the same rows again
    assert statements["quarantine"] > 0 and statements["pipeline_run"] > 0
    assert {table: statements[table] for table in LOADED_TABLES} == dict.fromkeys(LOADED_TABLES, 0)
    assert snapshot(warehouse_url) == before
    assert {row["last_run_id"] for row in before["customer"].values()} == {first.run_id}
    assert (second.customers_created, second.customers_updated, second.customers_retired) == (
        0,
        0,
        0,
    )


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_changed_and_a_new_record_rewrite_only_the_rows_they_affect(
    delivery: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = run(delivery, warehouse_url, monkeypatch, tmp_path)
    before = snapshot(warehouse_url)
    _, changed_key = second_delivery(delivery, tmp_path / "second")

    second = run(tmp_path / "second", warehouse_url, monkeypatch, tmp_path)
    after = snapshot(warehouse_url)

    def written(table: str, stamp: str) -> set[Any]:
        return {key for key, row in after[table].items() if row[stamp] == second.run_id}

    # source records: exactly the changed and the new one; the others keep their first load
    assert written("source_record", "last_run_id") == {changed_key, NEW_KEY}
    untouched = set(before["source_record"]) - {changed_key}
    assert set(after["source_record"]) == untouched | {changed_key, NEW_KEY}
    assert {k: after["source_record"][k] for k in untouched} == {
        k: before["source_record"][k] for k in untouched
    }

    # cross-references: the new record, and those whose customer or score moved
    xref_changed = differing(before["customer_xref"], after["customer_xref"], ["customer_id"])
    xref_changed |= {
        key
        for key, row in after["customer_xref"].items()
        if key in before["customer_xref"]
        and abs(row["match_score"] - before["customer_xref"][key]["match_score"]) > 1e-9
    }
    assert NEW_KEY in xref_changed
    assert written("customer_xref", "run_id") == xref_changed
    assert len(xref_changed) < len(after["customer_xref"]) / 10

    # customers: written exactly when their golden fields or bookkeeping differ; updated_at
    # and a new history version only for golden field changes
    customer_of = {key: row["customer_id"] for key, row in after["customer_xref"].items()}
    golden = [*GOLDEN_FIELDS, "is_active"]
    content = [*golden, "quality_score", "count_sources", "field_sources"]
    golden_changed = differing(before["customer"], after["customer"], golden)
    content_changed = differing(before["customer"], after["customer"], content)
    assert customer_of[changed_key] in golden_changed  # its email
    assert customer_of[NEW_KEY] in content_changed  # one source more
    assert written("customer", "last_run_id") == content_changed
    assert len(content_changed) < len(after["customer"]) / 10
    assert differing(before["customer"], after["customer"], ["updated_at"]) == golden_changed
    versions = read(
        warehouse_url,
        "SELECT customer_id FROM customer_history WHERE run_id = :run_id",
        run_id=second.run_id,
    )
    assert sorted(versions["customer_id"]) == sorted(golden_changed)
    assert second.customers_updated == len(golden_changed)
    assert first.run_id != second.run_id


# ---------------------------------------------------------------- the load functions alone

T1 = dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC)
T2 = dt.datetime(2025, 6, 2, 9, tzinfo=dt.UTC)
T3 = dt.datetime(2025, 6, 3, 9, tzinfo=dt.UTC)
T4 = dt.datetime(2025, 6, 4, 9, tzinfo=dt.UTC)


def customers(*rows: dict[str, Any]) -> pd.DataFrame:
    defaults = {"quality_score": 0.5, "count_sources": 1, "field_sources": {"mobile": "app:1"}}
    return pd.DataFrame([{**defaults, **row} for row in rows]).set_index("customer_id")


def output(run_id: str, **parts: Any) -> RunOutput:
    empty = pd.DataFrame()
    return RunOutput(
        run_id=run_id,
        records=parts.get("records", empty),
        xref=parts.get("xref", empty),
        customers=parts.get("customers", empty),
        retired_customer_ids=parts.get("retired", []),
        segments=empty,
        tasks=[],
        quarantined=empty,
    )


def instant(value: Any) -> pd.Timestamp:
    """A stored timestamp as UTC: SQLite gives back the naive UTC time it was given."""
    moment = pd.Timestamp(value)
    return moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")


def customer_rows(session: Session) -> dict[str, tuple[Any, ...]]:
    rows = session.execute(
        sa.text(
            "SELECT customer_id, last_run_id, updated_at, is_active, count_sources FROM customer"
        )
    ).all()
    return {row[0]: (row[1], instant(row[2]), bool(row[3]), row[4]) for row in rows}


def versions(session: Session) -> list[tuple[str, str, bool]]:
    """(customer_id, run_id, still current) of every history version."""
    rows = session.execute(
        sa.text("SELECT customer_id, run_id, valid_to FROM customer_history ORDER BY history_id")
    ).all()
    return [(row[0], row[1], row[2] is None) for row in rows]


def test_customers_are_written_only_when_golden_fields_or_bookkeeping_differ(
    warehouse_url: str,
) -> None:
    engine = create_warehouse_engine(warehouse_url)
    a = {"customer_id": "C1", "full_name": "陈丽华", "mobile": "+8613800000001", "aum_cny": 100.0}
    b = {"customer_id": "C2", "full_name": "王晶娜", "mobile": "+8613800000002", "aum_cny": 5.25}
    c = {"customer_id": "C3", "full_name": "杨杰志", "mobile": "+8613800000003"}
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            first = write_customers(session, output("r1", customers=customers(a, b)), T1)
        assert first == {"customers_created": 2, "customers_updated": 0, "customers_retired": 0}

        # C1 as before; C2 one source more (bookkeeping only); C3 new
        b_two_sources = {**b, "count_sources": 2, "field_sources": {"mobile": "branch:9"}}
        with Session(engine) as session, session.begin(), statements_by_table() as statements:
            second = write_customers(
                session, output("r2", customers=customers(a, b_two_sources, c)), T2
            )
        assert second == {"customers_created": 1, "customers_updated": 0, "customers_retired": 0}
        # one INSERT (C3), one UPDATE (C2's bookkeeping), one history INSERT (C3's first)
        assert statements == Counter({"customer": 2, "customer_history": 1})
        with Session(engine) as session:
            assert customer_rows(session) == {
                "C1": ("r1", T1, True, 1),
                "C2": ("r2", T1, True, 2),  # updated_at follows the golden fields only
                "C3": ("r2", T2, True, 1),
            }

        # C1 a new mobile; C2's AUM off by less than a cent (no change); C3 merged away
        a_moved = {**a, "mobile": "+8613900000001"}
        b_rounding = {**b_two_sources, "aum_cny": 5.251}
        with Session(engine) as session, session.begin():
            third = write_customers(
                session,
                output("r3", customers=customers(a_moved, b_rounding), retired=["C3", "C3"]),
                T3,
            )
        assert third == {"customers_created": 0, "customers_updated": 1, "customers_retired": 1}
        with Session(engine) as session:
            assert customer_rows(session) == {
                "C1": ("r3", T3, True, 1),
                "C2": ("r2", T1, True, 2),
                "C3": ("r2", T3, False, 1),
            }
            mobile = session.execute(
                sa.text("SELECT mobile FROM customer WHERE customer_id = 'C1'")
            )
            assert mobile.scalar_one() == "+8613900000001"
            assert versions(session) == [
                ("C1", "r1", False),
                ("C2", "r1", True),
                ("C3", "r2", False),
                ("C1", "r3", True),
            ]

        # C3 comes back unchanged: reactivated, a new version
        with Session(engine) as session, session.begin():
            fourth = write_customers(session, output("r4", customers=customers(c)), T4)
        assert fourth == {"customers_created": 0, "customers_updated": 1, "customers_retired": 0}
        with Session(engine) as session:
            assert customer_rows(session)["C3"] == ("r4", T4, True, 1)
            assert versions(session)[-1] == ("C3", "r4", True)
    finally:
        engine.dispose()


def records(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    """(record_key, raw_hash, email) as the load takes records."""
    frame = pd.DataFrame(
        [
            {
                "record_key": key,
                "source_system": key.partition(":")[0],
                "source_record_id": key.partition(":")[2],
                "source_file": "channel.csv",
                "source_row": row,
                "raw_hash": raw_hash,
                "email": email,
                "trust": 50,
            }
            for row, (key, raw_hash, email) in enumerate(rows, start=1)
        ]
    )
    return frame.set_index("record_key")


def xref(*rows: tuple[str, str, float]) -> pd.DataFrame:
    """(record_key, customer_id, match_score)."""
    return pd.DataFrame(
        [{"record_key": key, "customer_id": cid, "match_score": score} for key, cid, score in rows]
    ).set_index("record_key")


def test_records_and_xref_are_rewritten_only_when_new_or_changed(warehouse_url: str) -> None:
    engine = create_warehouse_engine(warehouse_url)
    a = {"customer_id": "C1", "full_name": "陈丽华"}
    b = {"customer_id": "C2", "full_name": "王晶娜"}
    try:
        migrate(engine)
        first = output(
            "r1",
            customers=customers(a, b),
            records=records(
                ("app:1", "h1", "a@x.cn"), ("app:2", "h2", "b@x.cn"), ("branch:1", "h3", None)
            ),
            xref=xref(("app:1", "C1", 0.9), ("app:2", "C1", 0.8), ("branch:1", "C2", 1.0)),
        )
        with Session(engine) as session, session.begin():
            write_source_records(session, first, T1)
            write_customers(session, first, T1)
            write_xref(session, first, T1)

        # app:1 as before (its score off by float noise); app:2 a new raw row and another
        # customer; branch:1 the same row with another score; app:3 new
        second = output(
            "r2",
            customers=customers(a, b),
            records=records(
                ("app:1", "h1", "a@x.cn"),
                ("app:2", "h2'", "b@y.cn"),
                ("branch:1", "h3", None),
                ("app:3", "h4", "c@x.cn"),
            ),
            xref=xref(
                ("app:1", "C1", 0.9 + 1e-12),
                ("app:2", "C2", 0.8),
                ("branch:1", "C2", 0.95),
                ("app:3", "C2", 0.7),
            ),
        )
        with Session(engine) as session, session.begin():
            write_source_records(session, second, T2)
            write_xref(session, second, T2)

        stored = by_key(
            read(
                warehouse_url,
                "SELECT source_system, source_record_id, raw_hash, last_run_id, "
                "record FROM source_record",
            ),
            ["source_system", "source_record_id"],
        )
        assert {key: row["last_run_id"] for key, row in stored.items()} == {
            "app:1": "r1",
            "app:2": "r2",
            "app:3": "r2",
            "branch:1": "r1",
        }
        record = stored["app:2"]["record"]
        record = json.loads(record) if isinstance(record, str) else record
        assert (stored["app:2"]["raw_hash"], record["email"]) == ("h2'", "b@y.cn")

        links = by_key(
            read(warehouse_url, "SELECT * FROM customer_xref"),
            ["source_system", "source_record_id"],
        )
        assert {
            key: (row["customer_id"], round(row["match_score"], 6), row["run_id"])
            for key, row in links.items()
        } == {
            "app:1": ("C1", 0.9, "r1"),
            "app:2": ("C2", 0.8, "r2"),
            "app:3": ("C2", 0.7, "r2"),
            "branch:1": ("C2", 0.95, "r2"),
        }
    finally:
        engine.dispose()
