"""Stored match keys: what an incremental run reads instead of recomputing every record's keys.

They must equal the keys of the records as the warehouse gives them back (or the neighbourhood
misses records), be the same in every process (or a later run finds nothing), and be recomputed
and stored again when missing or of another scheme.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.matching_data import synthetic_records
from helpers.warehouse_io import run_into
from sqlalchemy.orm import Session

from mdm.matching.keys import KEY_COLUMNS, KEY_SCHEME, from_bytes, record_keys, to_bytes
from mdm.testbed.generate import generate
from warehouse.db import create_warehouse_engine
from warehouse.models import SourceRecord
from warehouse.state import read_state

ROOT = Path(__file__).resolve().parents[1]


def test_keys_survive_storage_and_other_schemes_are_flagged() -> None:
    records = synthetic_records(40, seed=5)
    dated = records[records["birth_date"].notna() & records["city"].notna()]
    latin = dated.iloc[[0]].assign(
        full_name="John Smith", name_key="john smith", postal_code="WD1 9XX"
    )
    keys = record_keys(pd.concat([records, latin.set_axis(["latin:1"])]))
    blobs: list[bytes | None] = list(to_bytes(keys))
    other_scheme = np.frombuffer(blobs[1], dtype="<i8").copy()
    other_scheme[0] = KEY_SCHEME + 1
    blobs[1] = other_scheme.tobytes()
    blobs[2] = None
    blobs[3] = blobs[3][:-8]  # a key column fewer

    read, stale = from_bytes(blobs, keys.index)

    assert stale.tolist() == [False, True, True, True] + [False] * (len(keys) - 4)
    pd.testing.assert_frame_equal(read[~stale], keys[~stale])
    assert (read[stale] == 0).all().all()
    assert (keys != 0).any().all()  # every key is held by some record: none is dead


def test_keys_from_the_matchers_features_equal_keys_computed_alone() -> None:
    """A first run hashes the fields the matcher prepared: the stored keys must not depend on
    it, or a later run's neighbourhood (found from keys computed alone) would miss records."""
    from helpers.matching_data import labelled_records

    from mdm.matching.features import prepare

    records = pd.concat([synthetic_records(300, seed=4), labelled_records().drop(columns="entity")])
    latin = records.iloc[:3].assign(
        full_name=["John Smith", "Ana García López", "J. Smith"],
        name_key=["john smith", "ana garcia lopez", "j smith"],
        address=["12  High Street", "Calle Mayor 3", None],
        postal_code=["WD1 9XX", "28013", None],
    )
    records = pd.concat([records, latin.set_axis(["latin:1", "latin:2", "latin:3"])])
    alone = record_keys(records)
    pd.testing.assert_frame_equal(record_keys(records, prepare(records)), alone)
    assert (alone[["family_sound_city", "address", "postcode_family_sound"]] != 0).any().all()


def test_every_term_frequency_field_and_blocking_rule_has_a_stored_key() -> None:
    """A term-frequency field or rule added without its key would make incremental runs fail
    (no share to look up) or miss pairs (no neighbours through it)."""
    from mdm.matching.blocking import DEFAULT_RULES
    from mdm.matching.keys import LOOSE_KEYS, RULE_KEYS, VALUE_FIELDS
    from mdm.matching.model import TERM_FREQUENCY

    assert set(TERM_FREQUENCY.values()) == set(VALUE_FIELDS)
    rules = {rule.name for rule in DEFAULT_RULES}
    assert set(RULE_KEYS) <= rules
    # the three ID rules are covered by the loosened ID keys, every other rule by its own key
    assert rules - set(RULE_KEYS) == {"id", "id17", "id_stub_name"}
    assert LOOSE_KEYS == ("id_number", "id17", "id_stub")


def test_keys_are_the_same_in_another_process() -> None:
    """Python salts its own string hashes per process; stored keys must not depend on that."""
    script = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from helpers.matching_data import synthetic_records\n"
        "from mdm.matching.keys import record_keys\n"
        "print(int(record_keys(synthetic_records(60, seed=9)).to_numpy().sum() % 2**61))\n"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr
    here = record_keys(synthetic_records(60, seed=9)).to_numpy().sum() % 2**61
    assert int(child.stdout) == int(here)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_stored_keys_are_the_keys_of_the_stored_records_and_missing_ones_come_back(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery = tmp_path / "delivery"
    generate(delivery, customers=120, seed=4)
    run_into(delivery, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    engine = create_warehouse_engine(warehouse_url)
    try:
        with Session(engine) as session:
            state = read_state(session)
        assert state.match_keys is not None and state.recomputed_keys.empty
        assert list(state.match_keys.columns) == list(KEY_COLUMNS)
        # computed by the run on its records, equal to those of the records read back
        pd.testing.assert_frame_equal(state.match_keys, record_keys(state.records))
        # records and their customers come back in one order, customers as codes
        assert state.customer_of.index.is_(state.records.index)  # the same, or a view
        assert isinstance(state.customer_of.dtype, pd.CategoricalDtype)

        lost = list(state.records.index[:5])
        with Session(engine) as session, session.begin():
            for key in lost:
                system, _, record_id = key.partition(":")
                session.execute(
                    sa.update(SourceRecord)
                    .where(
                        SourceRecord.source_system == system,
                        SourceRecord.source_record_id == record_id,
                    )
                    .values(match_keys=None)
                )
        with Session(engine) as session:
            without = read_state(session)
        assert sorted(without.recomputed_keys) == sorted(lost)
        pd.testing.assert_frame_equal(without.match_keys, state.match_keys)

        run_into(delivery, warehouse_url, monkeypatch, tmp_path, build_docs=False)
        with Session(engine) as session:
            again = read_state(session)
        assert again.recomputed_keys.empty  # the rerun stored them
        pd.testing.assert_frame_equal(again.match_keys, state.match_keys)
    finally:
        engine.dispose()
