"""Each run leaves Prefect artifacts (a markdown summary and tables) with counts only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.warehouse_io import read, run_into

from flows.artifacts import ARTIFACT_KEYS
from mdm.testbed.generate import generate

# an 18-character PRC ID number, a mainland mobile, an e-mail address
PERSONAL = re.compile(
    r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"
    r"|(?<!\d)1[3-9]\d{9}(?!\d)"
    r"|[\w.+-]+@[\w-]+\.[\w.-]+"
)


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_leaves_its_counts_as_artifacts_and_no_personal_data(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    sources = tmp_path / "channels"
    generate(sources, customers=60, seed=3)
    summary = run_into(sources, sqlite_url, monkeypatch, tmp_path, build_docs=False)
    with get_client(sync_client=True) as client:
        artifacts = client.read_latest_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=list(ARTIFACT_KEYS)))
        )
        flow_run = client.read_flow_run(artifacts[0].flow_run_id)  # type: ignore[arg-type]
    by_key = {artifact.key: artifact for artifact in artifacts}
    assert set(by_key) == set(ARTIFACT_KEYS)
    assert len({artifact.flow_run_id for artifact in artifacts}) == 1  # all from this run
    assert flow_run.name and flow_run.state and flow_run.state.is_completed()

    markdown = str(by_key["mdm-run-summary"].data)
    assert summary.run_id in markdown
    assert f"| golden customers | {summary.customers_total:,} |" in markdown
    rows = by_key["mdm-rows-per-channel"].data
    assert f'"rows_read": {summary.rows_read["branch"]}' in str(rows).replace("'", '"')
    assert "stage" in str(by_key["mdm-stage-times"].data)
    assert "task_type" in str(by_key["mdm-tasks-opened"].data)
    assert "rule" in str(by_key["mdm-quarantine-reasons"].data)
    assert sum(sum(rules.values()) for rules in summary.quarantine_reasons.values()) >= sum(
        summary.quarantined.values()
    )

    everything = " ".join(str(artifact.data) for artifact in artifacts)
    assert not PERSONAL.findall(everything.replace(summary.run_id, ""))
    values = read(sqlite_url, "SELECT full_name, id_number, mobile, email FROM customer")
    values = {str(v) for v in values.stack().dropna() if len(str(v)) >= 2}
    assert len(values) > 50 and not [value for value in values if value in everything]
