"""The pipeline on Dask (`mdm run --dask`, flows/dask.py) gives what it gives in one process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from distributed import LocalCluster
from helpers.warehouse_io import read, run_into

from flows.dask import on_dask
from flows.local_data import LocalDataFlow
from flows.validate import validate_flow
from mdm.testbed.generate import generate

XREF = (
    "SELECT source_system, source_record_id, customer_id, match_score FROM customer_xref"
    " ORDER BY source_system, source_record_id"
)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A scheduler with two worker processes, as `dask-scheduler` on a cluster would be."""
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_a_flow_on_dask_still_records_its_records_as_type_names_only() -> None:
    assert isinstance(on_dask(validate_flow, "tcp://127.0.0.1:8786"), LocalDataFlow)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_dask_run_gives_the_same_customer_xref_as_one_process(
    scheduler: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sources = tmp_path / "channels"
    generate(sources, customers=60, seed=5)
    alone, on_cluster = (f"sqlite:///{tmp_path / name}.db" for name in ("alone", "dask"))
    expected = run_into(sources, alone, monkeypatch, tmp_path, build_docs=False)
    summary = run_into(
        sources, on_cluster, monkeypatch, tmp_path, build_docs=False, dask_address=scheduler
    )
    assert summary.rows_read == expected.rows_read
    assert summary.quarantined == expected.quarantined
    xref = read(on_cluster, XREF)
    assert len(xref) > 100
    assert xref.equals(read(alone, XREF))
