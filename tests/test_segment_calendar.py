"""The calendar refresh (mdm/segments/calendar.py, `mdm segments refresh`): it moves exactly the
segments the date alone moves, as a run on the later date with the same data gives them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from helpers.warehouse_io import read, run_into
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from mdm.cli.app import app
from mdm.segments.calendar import AGE_BAND_LISTS, AGE_DRIVEN_SEGMENTS, aged
from mdm.testbed.generate import generate
from warehouse.db import create_warehouse_engine
from warehouse.segment_refresh import segments_as_of

BEFORE, AFTER = dt.date(2025, 6, 30), dt.date(2026, 2, 15)
SEGMENTS = (
    "SELECT customer_id, segment_type, segment_value, score, next_contact_due FROM customer_segment"
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("calendar")
    generate(folder, customers=300, seed=23)
    return folder


def _segments(url: str) -> pd.DataFrame:
    frame = read(url, SEGMENTS)
    frame["next_contact_due"] = pd.to_datetime(frame["next_contact_due"]).dt.date
    return frame.set_index(["customer_id", "segment_type"]).sort_index()


def _members(segments: pd.DataFrame, segment_type: str) -> dict[str, str]:
    part = segments.xs(segment_type, level="segment_type")
    return part["segment_value"].to_dict()


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_refresh_moves_exactly_what_the_date_moves(
    sources: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run_into(sources, warehouse_url, monkeypatch, tmp_path, build_docs=False, as_of=BEFORE)
    before = _segments(warehouse_url)
    births = read(warehouse_url, "SELECT customer_id, birth_date, birth_year FROM customer")
    moved = set(births["customer_id"][aged(births, BEFORE, AFTER)])
    assert moved  # the test set has birthdays between the dates

    result = CliRunner().invoke(
        app, ["segments", "refresh", "--as-of", str(AFTER), "--warehouse", warehouse_url]
    )

    assert result.exit_code == 0, result.output
    assert f"from {BEFORE} to {AFTER}" in result.output
    after = _segments(warehouse_url)
    engine = create_warehouse_engine(warehouse_url)
    with Session(engine) as session:
        assert segments_as_of(session) == AFTER
    engine.dispose()
    # a run on the later date with the same data: the reference for what the date moves
    reference_url = f"sqlite:///{tmp_path / 'reference.db'}"
    run_into(sources, reference_url, monkeypatch, tmp_path, build_docs=False, as_of=AFTER)
    reference = _segments(reference_url)

    for name in AGE_BAND_LISTS:
        assert _members(after, f"campaign_{name}") == _members(reference, f"campaign_{name}")
    due = after.xs("contact_frequency", level="segment_type")["next_contact_due"]
    expected_due = reference.xs("contact_frequency", level="segment_type")["next_contact_due"]
    assert due.to_dict() == expected_due.to_dict()
    # the fund SIP list only loses those who aged out of its band
    sip_before = _members(before, "campaign_fund_sip")
    sip_after = _members(after, "campaign_fund_sip")
    assert set(sip_after) <= set(sip_before)
    assert set(sip_before) - set(sip_after) <= moved

    # nothing else moved: only age-driven segments of customers who aged, and contact dates
    keys = before.index.union(after.index)
    old = before.reindex(keys)
    new = after.reindex(keys)
    differs = ~(
        (old["segment_value"] == new["segment_value"])
        & ((old["score"] == new["score"]) | (old["score"].isna() & new["score"].isna()))
    )
    changed = keys[differs.to_numpy()]
    assert len(changed) > 0
    for customer_id, segment_type in changed:
        assert segment_type in AGE_DRIVEN_SEGMENTS
        assert customer_id in moved
    quadrant = changed[changed.get_level_values("segment_type") == "value_quadrant"]
    points = new.loc[quadrant, "score"] - old.loc[quadrant, "score"]
    assert set(points.abs()) <= {1.0}  # the prime-age point, nothing else

    # once there, a second refresh to the same date moves nothing
    again = CliRunner().invoke(
        app, ["segments", "refresh", "--as-of", str(AFTER), "--warehouse", warehouse_url]
    )
    assert again.exit_code == 0 and "nothing to bring" in again.output
    assert _segments(warehouse_url).equals(after)
