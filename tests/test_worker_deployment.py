"""A deployment as a data engineer runs one: a Prefect server with its scheduler, a process work
pool, the pipeline deployed from this checkout on an interval schedule, and a worker that picks
the scheduled run up. The run, its parameters and its artifacts are read back through the API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from flows.artifacts import ARTIFACT_KEYS
from mdm.testbed.generate import generate

ROOT = Path(__file__).resolve().parents[1]
POOL = "mdm-process-test"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`prefect server start` with its services (the test harness runs none, no scheduler)."""
    home = tmp_path / "prefect-home"
    url = f"http://127.0.0.1:{_free_port()}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": url,
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    port = url.rsplit(":", 1)[1].split("/")[0]
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
        + ["--port", port, "--no-ui"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(
                f"the Prefect server did not start: {(tmp_path / 'server.log').read_text()}"
            )
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _prefect(env: dict[str, str], *args: str, timeout: int = 300) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


async def _read_back(deployment_id: Any) -> tuple[list[Any], list[Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    async with get_client() as client:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
        done = [run for run in runs if run.state_name == "Completed"]
        artifacts = []
        if done:
            artifacts = await client.read_artifacts(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[done[0].id]))
            )
    return runs, artifacts


def test_a_worker_runs_the_scheduled_deployment_and_its_run_reads_back(
    prefect_server: dict[str, str], tmp_path: Path
) -> None:
    from prefect import flow
    from prefect.client.schemas.schedules import IntervalSchedule
    from prefect.settings import PREFECT_API_URL, temporary_settings

    env = prefect_server
    sources = tmp_path / "landing"
    generate(sources, customers=25, seed=8)
    warehouse = f"sqlite:///{tmp_path / 'warehouse.db'}"
    _prefect(env, "work-pool", "create", POOL, "--type", "process")
    settings = {"sources_dir": str(sources), "build_docs": False, "wait_seconds": 120}
    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
        pipeline = flow.from_source(source=str(ROOT), entrypoint="flows/pipeline.py:pipeline_flow")
        # the first run a few seconds from now, the next out of the worker's reach
        schedule = IntervalSchedule(
            interval=dt.timedelta(minutes=30),
            anchor_date=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5),
        )
        deployment_id = pipeline.deploy(
            name="landing-test",
            work_pool_name=POOL,
            schedule=schedule,
            parameters={"settings": settings},
            job_variables={"env": {"MDM_WAREHOUSE_URL": warehouse}},  # a secret: never a parameter
            print_next_steps=False,
            ignore_warnings=True,
        )
        deadline = time.monotonic() + 60
        runs: list[Any] = []
        while not runs and time.monotonic() < deadline:  # the scheduler service creates them
            runs, _ = asyncio.run(_read_back(deployment_id))
            time.sleep(1)
        assert runs, "the scheduler created no run from the interval schedule"
        # A worker started once submits what is due and returns; on a loaded machine the run may
        # not yet be due, or still be finishing, when it does: start it again until the run
        # reaches a final state, against a deadline that only a hung run reaches.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            _prefect(
                env, "worker", "start", "--pool", POOL, "--run-once", "--prefetch-seconds", "60"
            )
            runs, artifacts = asyncio.run(_read_back(deployment_id))
            if any(run.state_type and run.state_type.value in FINAL for run in runs):
                break
            time.sleep(2)

    [completed] = [run for run in runs if run.state_name == "Completed"]
    assert completed.parameters == {"settings": settings}
    assert warehouse not in str(completed.parameters)
    assert {artifact.key for artifact in artifacts} >= set(ARTIFACT_KEYS[:2])
    engine = sa.create_engine(warehouse)
    with engine.connect() as connection:
        status, customers = connection.execute(
            sa.text("SELECT status, counts FROM pipeline_run")
        ).one()
    engine.dispose()
    assert status == "success" and '"customers_total"' in customers
