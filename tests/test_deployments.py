"""prefect.yaml registers the pipeline flow that exists, with parameters RunSettings accepts,
and never a warehouse URL or other secret as a parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

from flows.pipeline import RunSettings, pipeline_flow

ROOT = Path(__file__).resolve().parents[1]


def _deployments() -> list[dict[str, Any]]:
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    deployments: list[dict[str, Any]] = project["deployments"]
    return deployments


def test_prefect_yaml_deploys_the_pipeline_per_landing_zone() -> None:
    deployments = _deployments()
    assert len({d["name"] for d in deployments}) == len(deployments) >= 2
    zones = {d["parameters"]["settings"]["sources_dir"] for d in deployments}
    assert len(zones) == len(deployments)  # one deployment per landing zone


@pytest.mark.parametrize("deployment", _deployments(), ids=lambda d: str(d["name"]))
def test_each_deployment_names_the_flow_and_valid_parameters(deployment: dict[str, Any]) -> None:
    path, _, name = deployment["entrypoint"].partition(":")
    assert (ROOT / path).is_file()
    flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
    assert name == "pipeline_flow" and flow.name == pipeline_flow.name
    parameters = deployment["parameters"]
    assert set(parameters) == {"settings"}
    RunSettings.model_validate(parameters["settings"])  # raises on a misspelled or bad value
    flow.validate_parameters(parameters)
    assert not [key for key in parameters["settings"] if "url" in key or "warehouse" in key], (
        "the warehouse URL must never be a flow parameter"
    )
    assert deployment["work_pool"]["name"] == "mdm-process"
    [schedule] = deployment["schedules"]
    assert len(schedule["cron"].split()) == 5


def test_mdm_serve_sources_serves_the_flow_with_settings_and_no_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mdm.cli import web as cli_web
    from mdm.testbed.generate import generate

    generate(tmp_path, customers=5, seed=1)
    served: dict[str, Any] = {}
    monkeypatch.setattr(type(pipeline_flow), "serve", lambda self, **kw: served.update(kw))
    monkeypatch.setenv("MDM_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    cli_web.serve_pipeline(tmp_path, None, cron="0 2 * * *", interval=None, name="box")
    assert served["cron"] == "0 2 * * *" and served["name"] == "box"
    settings = served["parameters"]["settings"]
    assert RunSettings.model_validate(settings).sources_dir == tmp_path.resolve()
    assert "sqlite" not in str(served["parameters"])


def test_mdm_serve_needs_one_schedule(tmp_path: Path) -> None:
    from mdm.cli import web as cli_web
    from mdm.errors import MdmError

    with pytest.raises(MdmError, match="one schedule"):
        cli_web.serve_pipeline(tmp_path, None, cron=None, interval=None, name="box")


def test_retries_only_on_passing_io_faults() -> None:
    import sqlalchemy as sa

    from flows.retry import is_transient_db_error, is_transient_io_error
    from mdm.errors import SourceError

    def raised_from(cause: BaseException) -> SourceError:
        try:
            raise SourceError("x.csv: cannot read") from cause
        except SourceError as exc:
            return exc

    assert is_transient_io_error(raised_from(OSError(5, "Input/output error")))
    assert is_transient_io_error(TimeoutError())
    assert not is_transient_io_error(raised_from(FileNotFoundError()))
    assert not is_transient_io_error(SourceError("x.csv: not gb18030"))
    assert not is_transient_io_error(KeyError("bug"))
    disconnect = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed"))
    assert is_transient_db_error(disconnect)
    violation = sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert not is_transient_db_error(violation)


def test_load_retries_a_lost_connection_and_not_a_refused_row() -> None:
    from flows.pipeline import LoadFailed, LoadInterrupted
    from flows.retry import retry_on_transient_load

    class _State:
        def __init__(self, error: BaseException) -> None:
            self.error = error

        def result(self, raise_on_failure: bool = True) -> BaseException:
            return self.error

    assert retry_on_transient_load(None, None, _State(LoadInterrupted("lost")))
    assert not retry_on_transient_load(None, None, _State(LoadFailed("refused")))


def test_the_warehouse_url_comes_from_a_secret_block(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from prefect.blocks.system import Secret

    from flows.secrets import warehouse_url
    from mdm.settings import ProcessSettings

    url = f"sqlite:///{tmp_path / 'secret.db'}"
    Secret(value=url).save("mdm-test-warehouse", overwrite=True)
    monkeypatch.delenv("MDM_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("MDM_WAREHOUSE_SECRET_BLOCK", "mdm-test-warehouse")
    assert warehouse_url(ProcessSettings()) == url
    monkeypatch.setenv("MDM_WAREHOUSE_URL", "sqlite:///env.db")  # the environment wins
    assert warehouse_url(ProcessSettings()) == "sqlite:///env.db"


def test_the_failure_automation_is_one_prefect_accepts() -> None:
    from prefect.events.schemas.automations import AutomationCore

    document = yaml.safe_load((ROOT / "automations.yaml").read_text(encoding="utf-8"))
    [automation] = [AutomationCore.model_validate(a) for a in document["automations"]]
    assert automation.trigger.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}
    assert pipeline_flow.name in str(automation.trigger.match_related)
