"""The Latin-script test bed: reproducible, its truth covers every record, and it holds what it
promises (relatives sharing a surname and an address, nicknames and initials)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mdm.channels.config import load_channels
from mdm.testbed.latin import generate_latin


def _read(folder: Path) -> pd.DataFrame:
    frames = [
        pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False).assign(channel=name)
        for name in ("crm", "list", "web")
    ]
    return pd.concat(frames, ignore_index=True)


def test_same_seed_same_files_and_truth_covers_every_record(tmp_path: Path) -> None:
    first = generate_latin(tmp_path / "a", persons=300, seed=4, with_ids=True)
    generate_latin(tmp_path / "b", persons=300, seed=4, with_ids=True)
    for name in ("crm.csv", "list.csv", "web.csv", "truth.csv", "channels.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    records = _read(tmp_path / "a")
    truth = pd.read_csv(tmp_path / "a" / "truth.csv", dtype=str)
    assert len(truth) == len(records) == first.records
    assert truth["person_id"].nunique() == first.persons == 300
    assert set(zip(truth["source_system"], truth["source_record_id"], strict=True)) == set(
        zip(records["channel"], records["record_id"], strict=True)
    )
    config = load_channels(tmp_path / "a")  # a configuration the pipeline accepts
    assert {channel.name for channel in config.channels} == {"crm", "list", "web"}
    assert (records["id_number"] != "").any()


def test_households_share_surname_and_address_but_are_different_people(tmp_path: Path) -> None:
    generate_latin(tmp_path, persons=400, seed=9, household_share=0.6)
    records = _read(tmp_path)
    truth = pd.read_csv(tmp_path / "truth.csv", dtype=str)
    records["person"] = truth["person_id"].to_numpy()
    crm = records[records["channel"] == "crm"]
    shared = crm.groupby(["family_name", "address"])["person"].nunique()
    assert (shared > 1).sum() >= 20  # many addresses where relatives live
    nick_or_initial = crm["given_name"].str.fullmatch(r"[A-Z]\.")
    assert nick_or_initial.any()
