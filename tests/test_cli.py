"""The `mdm` command as a user meets it: one clear line and a non-zero exit for bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mdm.testbed.generate import generate


def mdm(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MDM_WAREHOUSE_URL": f"sqlite:///{cwd / 'warehouse.db'}"}
    env.pop("MDM_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "mdm.cli.app", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli_channels")
    generate(folder, customers=40, seed=5)
    return folder


def broken_copy(channels_dir: Path, tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "sources"
    shutil.copytree(channels_dir, folder)
    config = folder / "channels.yaml"
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mdm: error: ")
    for part in expected:
        assert part in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_channels_yaml(tmp_path: Path) -> None:
    result = mdm("run", "--sources", str(tmp_path), cwd=tmp_path)
    assert_one_clear_line(result, "channels.yaml")
    assert not (tmp_path / "warehouse.db").exists()


def test_unknown_canonical_field(channels_dir: Path, tmp_path: Path) -> None:
    sources = broken_copy(channels_dir, tmp_path, "full_name: 姓名", "nickname: 姓名")
    result = mdm("run", "--sources", str(sources), cwd=tmp_path)
    assert_one_clear_line(result, "channel 'branch'", "unknown canonical field 'nickname'")
    assert not (tmp_path / "warehouse.db").exists()


def test_missing_file(channels_dir: Path, tmp_path: Path) -> None:
    sources = broken_copy(channels_dir, tmp_path, "thirdparty_leads.csv", "leads_*.csv")
    result = mdm("run", "--sources", str(sources), cwd=tmp_path)
    assert_one_clear_line(result, "channel 'thirdparty'", "no file matches path 'leads_*.csv'")
    assert not (tmp_path / "warehouse.db").exists()


def test_row14_absolute_path_is_one_clear_line(channels_dir: Path, tmp_path: Path) -> None:
    sources = broken_copy(channels_dir, tmp_path, "thirdparty_leads.csv", "/etc/passwd")
    result = mdm("run", "--sources", str(sources), cwd=tmp_path)
    assert_one_clear_line(result, "channel 'thirdparty'", "'/etc/passwd'", "outside")
    assert "root:" not in result.stderr + result.stdout
    assert "NotImplementedError" not in result.stderr
    assert not (tmp_path / "warehouse.db").exists()


def test_row2_dotdot_path_never_quotes_the_file(channels_dir: Path, tmp_path: Path) -> None:
    sources = broken_copy(
        channels_dir, tmp_path, "thirdparty_leads.csv", "../../../../../../../etc/passwd"
    )
    result = mdm("run", "--sources", str(sources), cwd=tmp_path)
    assert_one_clear_line(result, "channel 'thirdparty'", "etc/passwd", "outside")
    assert "root:" not in result.stderr + result.stdout


@pytest.mark.slow
def test_missing_column_found_while_reading(channels_dir: Path, tmp_path: Path) -> None:
    sources = broken_copy(channels_dir, tmp_path, "mobile: phone", "mobile: telephone")
    result = mdm("run", "--sources", str(sources), cwd=tmp_path)
    assert_one_clear_line(result, "thirdparty_leads.csv", "column 'telephone' (for mobile)")
    assert not (tmp_path / "warehouse.db").exists()


def test_evaluate_before_any_run(channels_dir: Path, tmp_path: Path) -> None:
    result = mdm("evaluate", "--truth", str(channels_dir / "truth.csv"), cwd=tmp_path)
    assert_one_clear_line(result, "no completed run")


def test_help_lists_every_command_the_readme_names(tmp_path: Path) -> None:
    result = mdm("--help", cwd=tmp_path)
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for command in ("demo", "run", "generate", "evaluate"):
        assert command in result.stdout
        assert f"mdm {command}" in readme
