"""The administrative test bed: reproducible, its truth covers every record, and it holds what it
promises (Spanish double surnames passed on to children, households at one address and landline,
DNI/NIE numbers with good check letters, and their typical corruptions)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from stdnum.es import dni, nie

from mdm.channels.config import load_channels
from mdm.testbed.admin import CHANNELS, generate_admin


def _read(folder: Path) -> pd.DataFrame:
    frames = [
        pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False).assign(channel=name)
        for name in CHANNELS
    ]
    records = pd.concat(frames, ignore_index=True)
    truth = pd.read_csv(folder / "truth.csv", dtype=str).set_index(
        ["source_system", "source_record_id"]
    )
    records["person"] = truth.loc[list(zip(records["channel"], records["record_id"]))][
        "person_id"
    ].to_numpy()
    return records


def test_same_seed_same_files_and_truth_covers_every_record(tmp_path: Path) -> None:
    first = generate_admin(tmp_path / "a", persons=300, seed=4)
    generate_admin(tmp_path / "b", persons=300, seed=4)
    for name in (*(f"{c}.csv" for c in CHANNELS), "truth.csv", "channels.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    records = _read(tmp_path / "a")
    truth = pd.read_csv(tmp_path / "a" / "truth.csv", dtype=str)
    assert len(truth) == len(records) == first.records
    assert truth["person_id"].nunique() == first.persons == 300
    config = load_channels(tmp_path / "a")  # a configuration the pipeline accepts
    assert {channel.name for channel in config.channels} == set(CHANNELS)


def test_households_and_national_ids(tmp_path: Path) -> None:
    summary = generate_admin(tmp_path, persons=600, seed=9)
    records = _read(tmp_path)
    padron = records[records["channel"] == "padron"]
    # many people at one address and landline, several surnames among them
    per_home = padron.groupby(["domicilio", "codigo_postal"])["person"].nunique()
    assert summary.households >= 100 and (per_home >= 3).sum() >= 30
    # children carry the father's first surname and the mother's first surname
    shared_first = padron.groupby("apellido1")["person"].nunique()
    assert (shared_first > 1).sum() >= 50
    # documents: most pass their check letter; a few lost it or carry a typo
    documents = records.loc[records["documento"] != "", ["documento", "tipo_documento"]]
    valid = [
        (dni if kind == "ES_DNI" else nie).is_valid(number)
        for number, kind in documents.itertuples(index=False)
    ]
    share = sum(valid) / len(valid)
    assert 0.8 < share < 0.97
    assert (documents["tipo_documento"] == "ES_NIE").any()
    # one number per person
    clean = documents[valid].assign(person=records.loc[documents.index, "person"][valid])
    assert (clean.groupby("documento")["person"].nunique() == 1).all()
    # the health centre maps no document; second surnames are sometimes missing
    assert "id_number" not in CHANNELS["salud"] and "id_number" in CHANNELS["padron"]
    assert (padron["apellido2"] == "").mean() > 0.1
