"""`mdm segments list`, `mdm export campaign` and `mdm run --segments` as a user meets them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from mdm.cli.segments import national_mobile
from mdm.segments.export import neutralized, write_excel_csv
from mdm.testbed.generate import generate
from tests.test_cli import assert_one_clear_line, mdm


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("张伟", "张伟"),
        ("13812345678", "13812345678"),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_cells_that_excel_would_run_are_neutralized(cell: object, written: str) -> None:
    assert neutralized(cell) == written


def test_export_file_is_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    assert write_excel_csv(path, ["name", "note"], [("陈丽华", "=1+2")]) == 1
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["name", "note"], ["陈丽华", "'=1+2"]]


def test_mobiles_are_exported_as_a_dialer_takes_them() -> None:
    assert national_mobile("+8613812345678") == "13812345678"
    assert national_mobile("+85291234567") == "+85291234567"
    assert national_mobile(None) is None


@pytest.fixture(scope="module")
def channels_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli_segment_channels")
    generate(folder, customers=60, seed=5)
    return folder


def test_a_wrong_segments_file_is_one_line(channels_dir: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rfm: {recency_days: [1, 2]}\n", encoding="utf-8")
    result = mdm("run", "--sources", str(channels_dir), "--segments", str(rules), cwd=tmp_path)
    assert_one_clear_line(result, "rules.yaml", "rfm")
    assert not (tmp_path / "warehouse.db").exists()


def test_export_before_any_run_is_one_line(tmp_path: Path) -> None:
    result = mdm("export", "campaign", "fund_sip", "--out", str(tmp_path / "x.csv"), cwd=tmp_path)
    assert_one_clear_line(result, "no completed run")


@pytest.mark.usefixtures("prefect_harness")
def test_list_and_export_after_a_run(channels_dir: Path, tmp_path: Path) -> None:
    ran = mdm("run", "--sources", str(channels_dir), "--no-docs", "--as-of", "2025-06-30",
              cwd=tmp_path)  # fmt: skip
    assert ran.returncode == 0, ran.stderr

    listed = mdm("segments", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "value_tier:" in listed.stdout and "lifecycle_stage:" in listed.stdout
    assert "campaign_bancassurance:" in listed.stdout

    out = tmp_path / "bancassurance.csv"
    exported = mdm("export", "campaign", "bancassurance", "--out", str(out), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows and f"exported {len(rows)} customers" in exported.stdout
    assert all(row["reason"] in {"bought_product", "age_band"} for row in rows)
    mobiles = [row["mobile"] for row in rows if row["mobile"]]
    assert mobiles and all(not m.startswith("+86") for m in mobiles)
    # personal values go to the file, never to the terminal
    assert not any(m in exported.stdout + exported.stderr for m in mobiles)

    unknown = mdm("export", "campaign", "lottery", "--out", str(out), cwd=tmp_path)
    assert_one_clear_line(unknown, "unknown campaign 'lottery'", "fund_sip")


def test_help_and_readme_name_the_segment_commands(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for command, sub in (("segments", "list"), ("export", "campaign")):
        assert command in mdm("--help", cwd=tmp_path).stdout
        assert sub in mdm(command, "--help", cwd=tmp_path).stdout
        assert f"mdm {command} {sub}" in readme
    assert "--segments" in mdm("run", "--help", cwd=tmp_path).stdout
