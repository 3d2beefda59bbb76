"""Helpers for tests that run the pipeline into a warehouse and read it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from flows.pipeline import RunSettings, RunSummary, run_pipeline


def run_into(
    sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **settings: Any
) -> RunSummary:
    """Run the whole pipeline on `sources` into the warehouse at `url`."""
    monkeypatch.setenv("MDM_WAREHOUSE_URL", url)
    monkeypatch.setenv("MDM_REPORTS_DIR", str(tmp_path / "reports"))
    return run_pipeline(RunSettings(sources_dir=sources, **settings))


def read(url: str, query: str, **params: object) -> pd.DataFrame:
    """A query's result as a frame."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        frame = pd.read_sql(sa.text(query), connection, params=params)
    engine.dispose()
    return frame
