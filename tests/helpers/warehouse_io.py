"""Helpers for tests that run the pipeline into a warehouse and read it back."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from bench.delivery import copy_rows
from flows.pipeline import RunSettings, RunSummary, run_pipeline


def run_into(
    sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **settings: Any
) -> RunSummary:
    """Run the whole pipeline on `sources` into the warehouse at `url`."""
    monkeypatch.setenv("MDM_WAREHOUSE_URL", url)
    monkeypatch.setenv("MDM_REPORTS_DIR", str(tmp_path / "reports"))
    return run_pipeline(RunSettings(sources_dir=sources, **settings))


def read(url: str, query: str, **params: object) -> pd.DataFrame:
    """A query's result as a frame."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        frame = pd.read_sql(sa.text(query), connection, params=params)
    engine.dispose()
    return frame


NEW_KEY = "app:U999999999"  # the record second_delivery adds


def second_delivery(first: Path, into: Path) -> tuple[str, str]:
    """The first delivery again, plus one new app record of a person the app already knows
    (same id, phone and email) and one changed app record (a new email).
    Returns (key of the copied record, key of the changed record)."""
    shutil.copytree(first, into)
    path = into / "app_users.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    unmasked = [
        i
        for i, row in enumerate(rows)
        if re.fullmatch(r"\d{17}[\dX]", str(row.get("id_no") or "")) and row.get("email")
    ]
    copied, changed = unmasked[0], unmasked[1]
    rows.append({**rows[copied], "user_id": NEW_KEY.partition(":")[2]})
    rows[changed]["email"] = "changed.address@example.com"
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return f"app:{rows[copied]['user_id']}", f"app:{rows[changed]['user_id']}"


def split_by_person(generated: Path, into: Path, share: float) -> tuple[Path, Path]:
    """Two deliveries of a `mdm generate` folder: the first holds the records of the first
    ``share`` of its persons, the second all of them (so it brings only new people). Each keeps
    the channel's format and encoding; transaction feeds are left out. Returns both folders."""
    truth = pd.read_csv(generated / "truth.csv", dtype=str)
    persons = sorted(truth["person_id"].unique())
    known = truth[truth["person_id"].isin(persons[: int(len(persons) * share)])]
    config = yaml.safe_load((generated / "channels.yaml").read_text(encoding="utf-8"))
    channels = {k: v for k, v in config["channels"].items() if v.get("kind") != "transactions"}
    folders = into / "first", into / "second"
    for folder, rows in zip(folders, (known, truth), strict=True):
        folder.mkdir(parents=True)
        text = yaml.safe_dump({"channels": channels}, allow_unicode=True)
        (folder / "channels.yaml").write_text(text, encoding="utf-8")
        rows.to_csv(folder / "truth.csv", index=False)
        for name, channel in channels.items():
            keep = set(rows.loc[rows["source_system"] == name, "source_record_id"])
            target = folder / channel["path"]
            copy_rows(generated / channel["path"], target, channel, keep.__contains__)
    return folders
