"""The pipeline on Dask (`mdm run --dask`, flows/dask.py) gives what it gives in one process."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster
from helpers.matching_data import labelled_records, synthetic_records
from helpers.warehouse_io import read, run_into
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterName,
)
from prefect.context import FlowRunContext, serialize_context

from flows.dask import OnWorkers, on_dask, pair_comparison, parameters_left_behind
from flows.local_data import LocalDataFlow, local_data_flow
from flows.validate import validate_flow
from mdm.matching import MatchResult, match_records
from mdm.matching.compare import compare
from mdm.matching.features import Features
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


def test_without_dask_the_pairs_are_compared_here_as_before() -> None:
    assert pair_comparison(None, 10) is None  # dedupe's default: compare.compare, here
    assert pair_comparison("tcp://127.0.0.1:8786", 10) == OnWorkers(pairs_per_task=10)


@local_data_flow(name="holds-records")
def _holds_records(records: pd.DataFrame) -> tuple[dict[str, Any], bool]:
    context = FlowRunContext.get()
    assert context is not None and context.parameters is not None
    with parameters_left_behind():
        sent = serialize_context()["flow_run_context"]["parameters"]
    # read before the flow returns: a local-data flow's context forgets them as it does
    return sent, context.parameters.get("records") is records


@pytest.mark.usefixtures("prefect_harness")
def test_tasks_sent_to_dask_leave_the_flow_runs_records_behind() -> None:
    records = pd.DataFrame({"name_key": ["王伟"]})
    sent, kept = _holds_records(records)
    assert sent == {"records": "<DataFrame>"}  # what a task submitted within would carry
    assert kept  # the flow run's own context is untouched


@local_data_flow(name="match-on-dask")
def _match_flow(records: pd.DataFrame, pairs_per_task: int) -> tuple[MatchResult, uuid.UUID]:
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    matched = match_records(records, compare_pairs=OnWorkers(pairs_per_task))
    return matched, context.flow_run.id


def _compare_runs(expected: int, **of: Any) -> list[Any]:
    """The completed `compare-pairs` task runs of the flow runs `of` filters, once `expected` of
    them are (the workers report them to the API as they finish)."""
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                **of,
                task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="compare-pairs")),
            )
            done = [run for run in runs if run.state is not None and run.state.is_completed()]
            if len(done) >= expected or time.monotonic() > deadline:
                return done
            time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_pairs_compared_in_parts_on_the_workers_score_and_cluster_as_here(scheduler: str) -> None:
    records = pd.concat([labelled_records(), synthetic_records(150, seed=3)])
    compared: list[int] = []

    def counted(
        features: Features, left: np.ndarray, right: np.ndarray, cutoffs: Any
    ) -> pd.DataFrame:
        compared.append(len(left))
        return compare(features, left, right, cutoffs)

    here = match_records(records, compare_pairs=counted)
    pairs_per_task = 150
    parts = math.ceil(sum(compared) / pairs_per_task)
    assert parts >= 3  # several parts, the last one short
    on_workers, flow_run_id = on_dask(_match_flow, scheduler)(records, pairs_per_task)
    pd.testing.assert_frame_equal(on_workers.pairs, here.pairs)  # levels, weights, decisions
    pd.testing.assert_series_equal(on_workers.clusters, here.clusters)
    assert on_workers.parameters == here.parameters
    flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    assert len(_compare_runs(parts, flow_run_filter=flow_run)) == parts


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
        sources,
        on_cluster,
        monkeypatch,
        tmp_path,
        build_docs=False,
        dask_address=scheduler,
        dask_pairs_per_task=100,  # dedupe's pairs compared in several tasks on the workers
    )
    assert summary.rows_read == expected.rows_read
    assert summary.quarantined == expected.quarantined
    assert summary.score_histogram == expected.score_histogram  # the pairs' weights
    assert summary.match_profile == expected.match_profile
    # dedupe's pairs were compared in parts on the workers (the run alone compared them here)
    dedupe = FlowFilter(name=FlowFilterName(any_=["dedupe"]))
    assert len(_compare_runs(2, flow_filter=dedupe)) >= 2
    xref = read(on_cluster, XREF)
    assert len(xref) > 100
    assert xref.equals(read(alone, XREF))
