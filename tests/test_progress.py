"""Progress on a terminal: one line per stage with counts; nothing when stdout is not a TTY."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers.warehouse_io import run_into

from flows.progress import progress_enabled
from mdm.testbed.generate import generate

STAGES = ("ingest", "transactions", "validate", "read", "dedupe", "enrich", "load")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MDM_PROGRESS", raising=False)
    monkeypatch.setattr("sys.stdout", _Terminal())
    assert progress_enabled()
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert not progress_enabled()
    monkeypatch.setenv("MDM_PROGRESS", "1")
    assert progress_enabled()


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_on_a_terminal_prints_each_stage_and_elsewhere_nothing(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "channels"
    generate(sources, customers=30, seed=4)
    monkeypatch.delenv("MDM_PROGRESS", raising=False)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    summary = run_into(sources, sqlite_url, monkeypatch, tmp_path, build_docs=False)
    lines = [line for line in terminal.getvalue().splitlines() if line.startswith("mdm: ")]
    assert [line.split()[1] for line in lines] == list(STAGES)
    read = sum(summary.rows_read.values())
    assert f"{read:,} rows read" in lines[0]
    assert "stored records" in lines[3]
    assert f"{summary.customers_total:,} golden customers" in lines[4]

    log = io.StringIO()  # not a terminal: quiet
    monkeypatch.setattr("sys.stdout", log)
    run_into(sources, f"sqlite:///{tmp_path / 'other.db'}", monkeypatch, tmp_path, build_docs=False)
    assert "mdm: " not in log.getvalue()
