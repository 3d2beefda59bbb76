"""The flows on Dask through Prefect's own integration (prefect-dask's `DaskTaskRunner`).

`mdm run --dask` starts a `LocalCluster` on this machine for the run; `--dask tcp://host:8786`
uses a scheduler that is already running (dask-kubernetes or dask-jobqueue start one on a
cluster). Without Dask the flows' tasks run one after the other in this process.

On Dask, dedupe's candidate pairs are compared in parts on the workers (`OnWorkers`): the
matcher (mdm/matching) is handed that way of computing levels and splits nothing itself. The
model's fit, clustering and survivorship need every pair at once and stay in the flow's process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
from prefect import Flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, TaskRunContext
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from mdm.matching.compare import ComparePairs, compare
from mdm.matching.features import Features

F = TypeVar("F", bound=Flow[Any, Any])

LOCAL_CLUSTER = "local"  # RunSettings.dask_address that starts a LocalCluster for the run

# Candidate pairs a comparison task takes at most (RunSettings.dask_pairs_per_task): a few
# seconds of a worker's time (the 100k test bed's 243,083 pairs: about 1 s), 8 MB of pairs in
# and 3.5 MB of levels out; a million records' several million pairs make several parts.
PAIRS_PER_TASK = 500_000

# Without Dask: one task at a time, as a direct call would run them (the standardizers keep
# caches that were never meant to be shared between threads).
SEQUENTIAL = cast(TaskRunner[PrefectFuture[Any]], ThreadPoolTaskRunner(max_workers=1))


@contextmanager
def dask_scheduler(address: str | None) -> Iterator[str | None]:
    """The scheduler address the run's flows submit to: None without Dask; a LocalCluster's,
    started here and closed when the run ends, for LOCAL_CLUSTER; else `address` itself."""
    if address is None or address != LOCAL_CLUSTER:
        yield address
        return
    from distributed import LocalCluster

    # one thread per worker process: standardizing and validating are CPU-bound Python
    with LocalCluster(threads_per_worker=1, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def on_dask(flow: F, address: str | None) -> F:
    """`flow` with its tasks sent to the Dask scheduler at `address` (unchanged for None)."""
    if address is None:
        return flow
    from prefect_dask import DaskTaskRunner

    runner = cast(TaskRunner[PrefectFuture[Any]], DaskTaskRunner(address=address))
    return cast(F, flow.with_options(task_runner=runner))


@contextmanager
def parameters_left_behind() -> Iterator[None]:
    """Tasks submitted within leave the current flow run's and task run's parameters behind.

    Prefect sends the submitting flow run's and task run's contexts with every task it submits
    to Dask, parameters included (`prefect.context.serialize_context`), so that
    `prefect.runtime` can name them on the worker: from dedupe, that would be every record and
    the warehouse's state, pickled again into each task (tens of megabytes a task at 100,000
    records).
    Within, the contexts are copies whose parameters are their type names, as LocalDataFlow
    records them."""
    with ExitStack() as stack:
        for context in (FlowRunContext.get(), TaskRunContext.get()):
            if context is not None:
                given = context.parameters or {}
                names = {name: f"<{type(value).__name__}>" for name, value in given.items()}
                stack.enter_context(context.model_copy(update={"parameters": names}))
        yield


@task(name="compare-pairs", cache_policy=NO_CACHE)
def compare_part(
    features: Features, pairs: np.ndarray, cutoffs: Mapping[str, Mapping[str, float]] | None
) -> pd.DataFrame:
    """The levels of one part of the candidate pairs (`pairs`: their left and right rows)."""
    return compare(features, pairs[0], pairs[1], cutoffs)


@dataclass(frozen=True)
class OnWorkers:
    """compare() on the Dask workers of the flow run's `DaskTaskRunner` (on_dask): the pairs in
    parts of `pairs_per_task`, each part a `compare-pairs` task run, the levels put back
    together in the pairs' order, so the matcher goes on as if it had compared them itself.

    The records' features go to every worker once (scattered, broadcast), and each part's pairs
    to one worker, through the runner's own Dask client: the matcher runs in a task in the flow's
    process, where no worker client exists for prefect-dask's `get_dask_client` to reach, and
    data scattered by a client of its own would be released when that client closes.
    """

    pairs_per_task: int = PAIRS_PER_TASK

    def __call__(
        self,
        features: Features,
        left: np.ndarray,
        right: np.ndarray,
        cutoffs: Mapping[str, Mapping[str, float]] | None = None,
    ) -> pd.DataFrame:
        if len(left) == 0:
            return compare(features, left, right, cutoffs)
        context = FlowRunContext.get()
        assert context is not None, "compares on Dask from within a flow run only"
        client = context.task_runner.client  # type: ignore[attr-defined]  # a DaskTaskRunner
        # hash=False: no tokenizing of tens of megabytes that are scattered once anyway
        shared = client.scatter(features, broadcast=True, hash=False)
        size = self.pairs_per_task
        parts = client.scatter(
            [
                np.stack([left[start : start + size], right[start : start + size]])
                for start in range(0, len(left), size)
            ],
            hash=False,
        )
        with parameters_left_behind():
            runs = [compare_part.submit(shared, part, cutoffs) for part in parts]
        return pd.concat([run.result() for run in runs], ignore_index=True)


def pair_comparison(
    address: str | None, pairs_per_task: int = PAIRS_PER_TASK
) -> ComparePairs | None:
    """How dedupe compares its candidate pairs: None (here, as always) without a scheduler, else
    on the workers (with dedupe's flow on_dask at the same `address`)."""
    return None if address is None else OnWorkers(pairs_per_task)
