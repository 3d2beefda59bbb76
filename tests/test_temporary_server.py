"""`mdm run` starts Prefect's temporary server in the background (flows/temporary_server.py):
the flow then uses that one server, and a configured server is left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from flows.temporary_server import start_temporary_server

_CHILD = textwrap.dedent(
    """
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.server.api.server import SubprocessASGIServer

    from flows.temporary_server import start_temporary_server

    start_temporary_server()()
    server = SubprocessASGIServer()
    assert server.running, "no server was started"
    assert httpx.get(f"{server.api_url}/health", timeout=10).status_code == 200
    with get_client(sync_client=True) as client:  # what the flow's engine asks for
        print(client.api_url)
    print(server.api_url)
    server.stop()
    """
)


def test_the_flow_uses_the_server_started_in_the_background(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PREFECT_API_URL"}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    client_url, server_url = done.stdout.split()[-2:]
    assert client_url.rstrip("/") == server_url.rstrip("/")


@pytest.mark.usefixtures("prefect_harness")
def test_a_configured_server_is_left_alone() -> None:
    assert _api_url_setting()  # the session's test harness has set it to its own server
    from prefect.server.api.server import SubprocessASGIServer

    servers = dict(SubprocessASGIServer._instances)
    start_temporary_server()()
    assert not any(t.name == "prefect-temporary-server" for t in threading.enumerate())
    assert SubprocessASGIServer._instances == servers  # no server of its own was made


def _api_url_setting() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value()
