"""Channels as they really arrive, end to end: bad rows, repeated files, odd text, warnings.

One small hand-made delivery with a problem of each kind goes through the whole pipeline; every
row read must end in customer_xref or quarantine, with the reason a person can act on.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.warehouse_io import read, run_into
from stdnum.cn import ric

from flows.pipeline import RunSummary
from flows.validate import check_tables
from mdm.errors import MdmError, TableCheckError

CHANNELS = """
channels:
  branch:
    path: branch_*.csv
    format: csv
    encoding: auto
    delimiter: auto
    record_id: 客戶號
    trust: 90
    columns: {full_name: 姓名, mobile: 手機, id_number: 證件號碼}
    defaults: {id_type: CN_RID}
  app:
    path: app*.jsonl
    format: jsonl
    record_id: id
    trust: 70
    columns: {full_name: name, mobile: mobile}
"""
# stdnum computes the check character of a full 18-character number, ignoring its last one
GOOD_ID = "11010119800101123" + ric.calc_check_digit("11010119800101123" + "0")
BAD_CHECK_DIGIT = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")
FORMULA = "=cmd|' /C calc'!A0"
BRANCH_ROWS = [
    ["客戶號", "姓名", "手機", "證件號碼"],
    ["B1", "陳大文", "13800000001", GOOD_ID],
    ["B2", "林\x07志\x1b明", "13800000002", ""],  # control characters
    ["B3", FORMULA, "13800000003", ""],  # a formula is a name like any other text
    ["B4", "黃" * 10_000_000, "13800000004", ""],  # a 10 MB field
    ["B1", "陳大文", "13800000001", GOOD_ID],  # the record id again
    ["B5", "張美玲", "13800000005", "", "多餘"],  # more fields than the header
    ["", "無名", "13800000006", ""],  # no record id
    ["B6", "吳小紅", "13800000007", BAD_CHECK_DIGIT],  # a warning, not a reject
]
APP_LINES = [
    json.dumps({"id": "u1", "name": "王芳", "mobile": "+86 139 0000 0001"}, ensure_ascii=False),
    "{cut off",
]


def write_delivery(folder: Path) -> Path:
    folder.mkdir()
    (folder / "channels.yaml").write_text(CHANNELS, encoding="utf-8")
    branch = "\n".join(";".join(row) for row in BRANCH_ROWS) + "\n"
    (folder / "branch_1.csv").write_bytes(branch.encode("big5"))
    shutil.copy(folder / "branch_1.csv", folder / "branch_1_resent.csv")  # same bytes again
    (folder / "app.jsonl").write_text("\n".join(APP_LINES) + "\n", encoding="utf-8")
    return folder


def run(sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunSummary:
    return run_into(sources, url, monkeypatch, tmp_path, build_docs=False)


@pytest.mark.usefixtures("prefect_harness")
def test_a_messy_delivery_lands_row_by_row_with_reasons(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sources = write_delivery(tmp_path / "sources")
    first = run(sources, sqlite_url, monkeypatch, tmp_path)

    # the resent copy is recognized by its bytes and read once
    assert first.rows_read == {"branch": 8, "app": 2}
    assert first.repeated_files == [
        {"channel": "branch", "file": "branch_1_resent.csv", "same_as": "branch/branch_1.csv"}
    ]
    xref = read(sqlite_url, "SELECT source_system, source_record_id FROM customer_xref")
    quarantine = read(sqlite_url, "SELECT * FROM quarantine")
    assert len(xref) + len(quarantine) == 10  # every row read is accounted for, once

    rules = {
        (row.source_system, row.source_row): [r["rule"] for r in json.loads(row.reasons)]
        if isinstance(row.reasons, str)
        else [r["rule"] for r in row.reasons]
        for row in quarantine.itertuples()
    }
    assert rules == {
        ("branch", 5): ["readable_row"],  # the 10 MB name
        ("branch", 6): ["record_id_unique"],
        ("branch", 7): ["readable_row"],
        ("branch", 8): ["record_id_present"],
        ("app", 2): ["readable_row", "record_id_present"],
    }
    assert quarantine["raw_payload"].str.len().max() < 10_000  # the 10 MB value was cut

    names = read(sqlite_url, "SELECT full_name FROM customer")["full_name"].tolist()
    assert "林志明" in names  # control characters stripped
    assert FORMULA in names  # kept as text; neutralizing it is the export's job
    assert max(len(name) for name in names) < 100

    # a bad check digit keeps the row and opens an invalid task naming the field and rule
    tasks = read(sqlite_url, "SELECT task_type, details FROM steward_task")
    details = [json.loads(d) if isinstance(d, str) else d for d in tasks["details"]]
    invalid = [d for t, d in zip(tasks["task_type"], details, strict=True) if t == "invalid"]
    assert [(d.get("record"), d["field"]) for d in invalid if d["rule"] == "id_number_valid"] == [
        ("branch:B6", "id_number")
    ], invalid
    assert ("branch", "B6") in set(zip(xref["source_system"], xref["source_record_id"]))

    # the same delivery next run: each file is named as a repeat of the first run
    second = run(sources, sqlite_url, monkeypatch, tmp_path)
    repeats = {(r["channel"], r["file"], r["same_as"]) for r in second.repeated_files}
    assert repeats == {
        ("branch", "branch_1_resent.csv", "branch/branch_1.csv"),
        ("branch", "branch_1.csv", f"run {first.run_id}"),
        ("app", "app.jsonl", f"run {first.run_id}"),
    }
    assert (second.customers_created, second.customers_updated) == (0, 0)
    assert len(read(sqlite_url, "SELECT * FROM customer_xref")) == len(xref)


@pytest.mark.usefixtures("prefect_harness")
def test_a_wrong_encoding_stops_the_run_before_the_warehouse_is_touched(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sources = write_delivery(tmp_path / "sources")
    (sources / "app.jsonl").write_bytes('{"id": "u9", "name": "王芳"}\n'.encode("gb18030"))
    with pytest.raises(MdmError, match=r"app\.jsonl: line 1: byte 0x\w\w is not valid utf-8"):
        run(sources, sqlite_url, monkeypatch, tmp_path)
    assert not sa.inspect(sa.create_engine(sqlite_url)).get_table_names()


def test_a_table_failing_its_suite_stops_the_load_naming_table_and_rule() -> None:
    xref = pd.DataFrame({"customer_id": ["C000000001", None], "match_score": [0.9, 1.5]})
    segments = pd.DataFrame(
        {"customer_id": ["C000000001"], "segment_type": ["value_tier"], "segment_value": ["gold"]}
    )
    check_tables.fn({"customer_xref": xref.iloc[:1], "customer_segment": segments})
    with pytest.raises(TableCheckError) as error:
        check_tables.fn({"customer_xref": xref, "customer_segment": segments})
    assert str(error.value) == (
        "nothing was loaded: customer_xref: 1 rows fail xref_has_customer (record has no"
        " customer); customer_xref: 1 rows fail xref_score_range (match score is not in [0, 1])"
    )
