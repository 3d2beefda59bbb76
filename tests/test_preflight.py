"""`make test` on a bare machine: scripts/preflight.py names what is missing in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

PREFLIGHT = Path(__file__).resolve().parents[1] / "scripts" / "preflight.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _preflight(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The script with a PATH holding neither chromium nor apt-get nor pg_ctlcluster."""
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir(exist_ok=True)
    environment = {"HOME": str(tmp_path), "PATH": str(empty_bin), **env}
    return subprocess.run(
        [sys.executable, str(PREFLIGHT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_chromium_is_one_line_with_the_install_command(tmp_path: Path) -> None:
    result = _preflight(tmp_path, MDM_CHROMIUM=str(tmp_path / "no-chromium"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "make test: Chromium is missing: install it with apt-get install chromium (Debian/Ubuntu)"
    ]


def test_missing_postgres_is_one_line_with_the_install_command(tmp_path: Path) -> None:
    chromium = tmp_path / "bin" / "chromium"
    chromium.parent.mkdir()
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    port = _free_port()
    result = _preflight(
        tmp_path,
        MDM_CHROMIUM=str(chromium),
        MDM_TEST_POSTGRES_URL=f"postgresql+psycopg://postgres@127.0.0.1:{port}/test",
    )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"make test: PostgreSQL is missing (nothing at 127.0.0.1:{port})")
    assert "apt-get install postgresql" in line


def test_everything_present_passes_silently(tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = _preflight(
            tmp_path,
            MDM_CHROMIUM=str(chromium),
            MDM_TEST_POSTGRES_URL=f"postgresql+psycopg://u@127.0.0.1:{port}/test",
        )
    assert (result.returncode, result.stderr) == (0, "")
    assert os.path.exists(PREFLIGHT)
