"""Quality gates: a run crossing a limit fails with one clear line and loads nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers.warehouse_io import read, run_into

from flows.gates import model_is_degenerate, quarantine_rate
from mdm.errors import MdmError
from mdm.testbed.generate import generate


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gate_channels")
    generate(folder, customers=40, seed=8)
    # one row delivered twice: its record id repeats, so the copy is quarantined
    delivery = next(p for p in sorted(folder.glob("*.csv")) if p.name != "truth.csv")
    data = delivery.read_bytes().rstrip(b"\r\n")
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    delivery.write_bytes(data + newline + data.rsplit(newline, 1)[1] + newline)
    return folder


def _nothing_loaded(url: str) -> None:
    engine = sa.create_engine(url)
    tables = sa.inspect(engine).get_table_names()
    engine.dispose()
    if "customer" in tables:
        assert read(url, "SELECT count(*) AS n FROM customer")["n"].item() == 0
        assert read(url, "SELECT count(*) AS n FROM quarantine")["n"].item() == 0
        assert read(url, "SELECT status FROM pipeline_run")["status"].tolist() in ([], ["failed"])


def test_the_gates_read_their_inputs_defensively() -> None:
    assert quarantine_rate({"a": 90, "b": 10}, {"a": 5, "b": 5, "tx": 99}) == 0.1
    assert quarantine_rate({}, {}) == 0.0
    assert model_is_degenerate({"model_check": {"degenerate": True}})
    for parameters in ({}, {"model_check": None}, {"model_check": {"degenerate": "yes"}}):
        assert not model_is_degenerate(parameters)


@pytest.mark.usefixtures("prefect_harness")
def test_too_much_quarantine_fails_the_run_and_loads_nothing(
    channels_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(MdmError) as failed:
        run_into(
            channels_dir, sqlite_url, monkeypatch, tmp_path, build_docs=False, max_quarantine_rate=0
        )
    [line] = str(failed.value).splitlines()
    assert line.startswith("quality gate: ") and "of rows quarantined" in line
    assert "nothing was loaded" in line and "--max-quarantine-rate" in line
    _nothing_loaded(sqlite_url)


@pytest.mark.usefixtures("prefect_harness")
def test_a_degenerate_model_fails_the_run_when_the_setting_is_on(
    channels_dir: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import flows.pipeline

    fitted = flows.pipeline.dedupe_flow

    def degenerate(*args: Any, **kwargs: Any) -> Any:
        result = fitted(*args, **kwargs)
        model_check = {"degenerate": True, "reason": "m equals u"}
        return replace(result, parameters={**result.parameters, "model_check": model_check})

    monkeypatch.setattr(flows.pipeline, "dedupe_flow", degenerate)
    with pytest.raises(MdmError, match="match model is degenerate"):
        run_into(
            channels_dir,
            sqlite_url,
            monkeypatch,
            tmp_path,
            build_docs=False,
            fail_on_degenerate_model=True,
        )
    _nothing_loaded(sqlite_url)
    # off (the default): the same run loads
    summary = run_into(channels_dir, sqlite_url, monkeypatch, tmp_path, build_docs=False)
    assert summary.customers_total > 0
