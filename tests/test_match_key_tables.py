"""record_match_key and term_frequency follow the stored records through every kind of load: a
full rewrite, new records, records whose keys changed (their old values' counts fall, down to
no row), and records read again unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
from helpers.matching_data import synthetic_records
from sqlalchemy.orm import Session

from mdm.matching.keys import KEY_COLUMNS, VALUE_FIELDS, record_keys
from warehouse.db import create_warehouse_engine, migrate
from warehouse.load.match_keys import stored_keys, value_counts, write_match_keys
from warehouse.run_output import RunOutput


def _output(**keys: pd.DataFrame | None) -> RunOutput:
    return RunOutput(
        run_id="r",
        records=pd.DataFrame(),
        xref=pd.DataFrame(),
        customers=pd.DataFrame(),
        retired_customer_ids=[],
        segments=pd.DataFrame(),
        tasks=[],
        quarantined=pd.DataFrame(),
        **keys,  # type: ignore[arg-type]
    )


def _counts(session: Session) -> dict[str, dict[int, int]]:
    from warehouse.models import TermFrequency

    counted: dict[str, dict[int, int]] = {field: {} for field in VALUE_FIELDS}
    for row in session.query(TermFrequency).all():
        counted[row.field][int(row.value_hash)] = int(row.records)
    return counted


def _expected(keys: pd.DataFrame) -> dict[str, dict[int, int]]:
    return {
        field: {int(h): int(n) for h, n in counted.items()}
        for field, counted in value_counts(keys).items()
    }


def test_key_tables_follow_every_load(warehouse_url: str) -> None:
    records = synthetic_records(120, seed=9)
    keys = record_keys(records)
    first, later = keys.iloc[:200], keys.iloc[200:]
    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    try:
        with Session(engine) as session, session.begin():
            write_match_keys(session, _output(all_match_keys=first))
        with Session(engine) as session, session.begin():
            assert _counts(session) == _expected(first)

            # new records, and one of the stored ones renamed to a name nobody else holds
            renamed = records.iloc[[0]].assign(
                name_key="欧阳独一", name_pinyin_sorted="du ouyang yi"
            )
            changed = record_keys(renamed)
            assert changed["value_name"].iloc[0] != first["value_name"].iloc[0]
            write_match_keys(session, _output(match_keys=pd.concat([changed, later])))
        now = pd.concat([changed, first.iloc[1:], later])
        with Session(engine) as session, session.begin():
            assert _counts(session) == _expected(now)
            stored = stored_keys(session, now.index)
            pd.testing.assert_frame_equal(
                stored.loc[now.index].astype(np.int64), now[list(KEY_COLUMNS)], check_names=False
            )
            # the old name was its record's alone: its count is gone, not left at zero
            old_name = int(first["value_name"].iloc[0])
            held_elsewhere = (now["value_name"] == old_name).any()
            assert (old_name in _counts(session)["name"]) == bool(held_elsewhere)

            # the same records again: nothing moves
            write_match_keys(session, _output(match_keys=now))
            assert _counts(session) == _expected(now)
    finally:
        engine.dispose()
