"""channels.yaml loading: every configuration mistake is one clear ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from mdm.channels.config import load_channels
from mdm.errors import ConfigError


def write_config(folder: Path, text: str, *files: str) -> Path:
    (folder / "channels.yaml").write_text(text, encoding="utf-8")
    for name in files:
        (folder / name).write_text("id,name\n1,张伟\n", encoding="utf-8")
    return folder


GOOD = """
channels:
  branch:
    path: branch*.csv
    format: csv
    encoding: gb18030
    record_id: 客户号
    trust: 90
    columns:
      full_name: 姓名
      address: [street, building]
    defaults:
      id_type: CN_RID
    units:
      aum_cny: wan
"""


def test_good_config_resolves_files_relative_to_the_yaml(tmp_path: Path) -> None:
    write_config(tmp_path, GOOD, "branch_a.csv", "branch_b.csv", "other.csv")
    config = load_channels(tmp_path)
    (branch,) = config.channels
    assert branch.name == "branch"
    assert branch.trust == 90
    assert [p.name for p in config.files(branch)] == ["branch_a.csv", "branch_b.csv"]
    assert branch.source_columns() == ["客户号", "姓名", "street", "building"]


def test_missing_channels_yaml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"channels\.yaml"):
        load_channels(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace("full_name:", "fullname:"),
            r"channel 'branch': unknown canonical field 'fullname'",
        ),
        (
            GOOD.replace("branch*.csv", "nothing*.csv"),
            r"channel 'branch': no file matches path 'nothing\*\.csv'",
        ),
        (GOOD.replace("format: csv", "format: xml"), r"channel 'branch': field 'format'"),
        (GOOD.replace("trust: 90", "trust: 190"), r"channel 'branch': field 'trust'"),
        (GOOD.replace("encoding: gb18030", "encoding: klingon"), r"unknown encoding 'klingon'"),
        (GOOD.replace("    record_id: 客户号\n", ""), r"field 'record_id'"),
        (GOOD.replace("aum_cny: wan", "full_name: wan"), r"units: 'full_name' is not an amount"),
        (GOOD.replace("aum_cny: wan", "aum_cny: pounds"), r"field 'units.aum_cny'"),
        ("channels: [1, 2]", r"top-level 'channels:' mapping"),
        ("channels: {}", r"'channels:' is empty"),
        ("channels: {branch: [", r"not valid YAML"),
    ],
)
def test_config_mistakes_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    write_config(tmp_path, text, "branch_a.csv")
    with pytest.raises(ConfigError, match=message) as caught:
        load_channels(tmp_path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("path", ["../../../../etc/passwd", "/etc/passwd", "sub/../../x.csv"])
def test_row2_path_outside_sources_is_refused(tmp_path: Path, path: str) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (tmp_path / "x.csv").write_text("secret-first-line\n", encoding="utf-8")
    write_config(folder, GOOD.replace("branch*.csv", f"'{path}'"))
    with pytest.raises(ConfigError) as caught:
        load_channels(folder)
    message = str(caught.value)
    assert "channel 'branch'" in message and path in message and "outside" in message
    assert "root:" not in message and "secret" not in message


def test_row2_symlink_pointing_out_of_sources_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    outside = tmp_path / "shadow"
    outside.write_text("root:$6$secret-hash:19000::::::\n", encoding="utf-8")
    (folder / "branch_a.csv").symlink_to(outside)
    write_config(folder, GOOD)
    with pytest.raises(
        ConfigError, match=r"channel 'branch'.*branch_a\.csv links outside"
    ) as caught:
        load_channels(folder)
    assert "secret" not in str(caught.value)


def test_row2_symlink_inside_sources_is_read(tmp_path: Path) -> None:
    write_config(tmp_path, GOOD, "real.csv")
    (tmp_path / "branch_a.csv").symlink_to(tmp_path / "real.csv")
    config = load_channels(tmp_path)
    assert [p.name for p in config.files(config.channels[0])] == ["branch_a.csv"]
