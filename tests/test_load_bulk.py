"""The bulk insert (warehouse/load/bulk.py): values read back as the ORM stored them, and a
refused row fails the transaction as SQLAlchemy's error, leaving nothing behind."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.standardize.dates import CHINA_TZ
from warehouse.db import create_warehouse_engine, migrate
from warehouse.load import bulk
from warehouse.load.bulk import column_values, insert_columns
from warehouse.models import Customer, CustomerSegment
from warehouse.values import as_instant

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def customer_columns(customer_ids: list[str]) -> dict[str, list[object]]:
    count = len(customer_ids)
    return {
        "customer_id": customer_ids,
        "full_name": column_values(pd.Series(["张伟", None][:count], dtype="str")),
        "birth_date": [dt.date(1980, 5, 6), None][:count],
        "aum_cny": column_values(pd.Series([1234.5, np.nan][:count])),
        "txn_count_12m": column_values(pd.Series([3, None][:count], dtype="Int64")),
        "birth_year": column_values(pd.Series([1980.0, np.nan][:count])),  # a float column
        "marketing_consent": column_values(pd.Series([True, None][:count], dtype="boolean")),
        "last_txn_at": column_values(pd.Series([pd.Timestamp("2025-06-01 09:30"), pd.NaT][:count])),
        "quality_score": [0.5] * count,
        "count_sources": [2] * count,
        "field_sources": [{"full_name": "app:U1"}] * count,
        "is_active": [True] * count,
        "created_at": [NOW] * count,
        "updated_at": [NOW] * count,
        "last_run_id": ["run"] * count,
    }


def test_missing_values_of_every_dtype_are_nulls_and_naive_timestamps_china_time() -> None:
    assert column_values(pd.Series([1.5, np.nan])) == [1.5, None]
    assert column_values(pd.Series([1, None], dtype="Int64")) == [1, None]
    assert column_values(pd.Series([True, None], dtype="boolean")) == [True, None]
    assert column_values(pd.Series(["a", None], dtype="str")) == ["a", None]
    moment = column_values(pd.Series([pd.Timestamp("2025-06-01 09:30"), pd.NaT]))
    assert moment == [dt.datetime(2025, 6, 1, 9, 30, tzinfo=CHINA_TZ), None]


def test_bulk_rows_read_back_as_written_a_batch_at_a_time(
    warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BATCH", 1)  # the two rows in two statements
    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        insert_columns(session, Customer, customer_columns(["C1", "C2"]))
    with Session(engine) as session:
        first, second = session.scalars(sa.select(Customer).order_by(Customer.customer_id))
        assert (first.full_name, first.birth_date) == ("张伟", dt.date(1980, 5, 6))
        assert (first.aum_cny, first.txn_count_12m, first.marketing_consent) == (1234.5, 3, True)
        assert first.birth_year == 1980 and isinstance(first.birth_year, int)
        assert first.field_sources == {"full_name": "app:U1"}
        assert first.last_txn_at is not None  # SQLite gives back the China wall time it was given
        assert as_instant(first.last_txn_at) == dt.datetime(2025, 6, 1, 9, 30, tzinfo=CHINA_TZ)
        assert (second.full_name, second.birth_date, second.aum_cny) == (None, None, None)
        assert (second.txn_count_12m, second.marketing_consent, second.last_txn_at) == (None,) * 3
    engine.dispose()


def test_a_refused_row_is_sqlalchemys_error_and_nothing_lands(warehouse_url: str) -> None:
    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    with pytest.raises(sa.exc.IntegrityError), Session(engine) as session, session.begin():
        insert_columns(session, Customer, customer_columns(["C1"]))
        segment = {"customer_id": ["C1"], "segment_type": ["value_tier"]}
        segment |= {"segment_value": ["gold"], "rule_version": ["1"], "assigned_at": [NOW]}
        insert_columns(session, CustomerSegment, segment)
        insert_columns(session, CustomerSegment, segment)  # the same key twice
    with Session(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(CustomerSegment)) == 0
    engine.dispose()


def test_a_first_load_reads_no_stored_rows_and_finds_the_same(warehouse_url: str) -> None:
    from warehouse.load.chunks import holds_rows, stored_by_record_id
    from warehouse.models import CustomerXref

    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    ids = ["R1", "R2"]
    try:
        with Session(engine) as session, session.begin():
            assert not holds_rows(session, CustomerXref)
            statements: list[str] = []
            sa.event.listen(
                session.connection(),
                "before_cursor_execute",
                lambda *args: statements.append(args[2]),
            )
            skipped = stored_by_record_id(
                session,
                CustomerXref,
                ["customer_id", "match_score"],
                system="app",
                record_ids=ids,
                table_was_empty=True,
            )
            assert statements == []  # no lookup
            looked_up = stored_by_record_id(
                session, CustomerXref, ["customer_id", "match_score"], system="app", record_ids=ids
            )
            pd.testing.assert_frame_equal(skipped, looked_up)
            assert skipped["customer_id"].isna().all()
            insert_columns(session, Customer, customer_columns(["C1"]))
            insert_columns(
                session,
                CustomerXref,
                {
                    "source_system": ["app"],
                    "source_record_id": ["R2"],
                    "customer_id": ["C1"],
                    "match_score": [1.0],
                    "matched_at": [NOW],
                    "run_id": ["run"],
                },
            )
            assert holds_rows(session, CustomerXref)
    finally:
        engine.dispose()
