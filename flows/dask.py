"""The flows on Dask through Prefect's own integration (prefect-dask's `DaskTaskRunner`).

`mdm run --dask` starts a `LocalCluster` on this machine for the run; `--dask tcp://host:8786`
uses a scheduler that is already running (dask-kubernetes or dask-jobqueue start one on a
cluster). Without Dask the flows' tasks run one after the other in this process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from prefect import Flow
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

F = TypeVar("F", bound=Flow[Any, Any])

LOCAL_CLUSTER = "local"  # RunSettings.dask_address that starts a LocalCluster for the run

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
