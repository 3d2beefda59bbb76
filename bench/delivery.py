"""An incremental run against the full run it follows: `mdm run --no-docs` of a generated data
set less 10,000 records into a new warehouse, then `mdm run` of a delivery holding only those
10,000 records; prints both walls, their ratio (issue 13's target: at most 0.10) and the stage
times of each.

    python -m bench.delivery                                  # 300,000 records, SQLite
    python -m bench.delivery --records 100000 --databases sqlite,postgres
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import yaml

from bench.growth import STAGES as RUN_STAGES
from bench.growth import dataset, run_in_process, warehouse

DELIVERY = 10_000  # new records the incremental run brings
# `read`: the warehouse state (all of it on a full run, the delta's neighbourhood after it)
STAGES = (*RUN_STAGES[:3], "read", *RUN_STAGES[3:])


def split_delivery(generated: Path, into: Path, size: int, seed: int = 0) -> tuple[Path, Path]:
    """Two folders of a `mdm generate` folder: `base` with every record but `size` drawn at
    random from the customer channels (and every transactions feed), and `delivery` with only
    those `size` records (no transactions). Made once, then reused."""
    base, delivery = into / "base", into / "delivery"
    if (delivery / "channels.yaml").exists():
        return base, delivery
    truth = pd.read_csv(generated / "truth.csv", dtype=str)
    chosen = truth.sample(n=min(size, len(truth) // 10), random_state=seed)
    held = {name: set(group["source_record_id"]) for name, group in chosen.groupby("source_system")}
    config = yaml.safe_load((generated / "channels.yaml").read_text(encoding="utf-8"))
    channels = config["channels"]
    customer = {k: v for k, v in channels.items() if v.get("kind") != "transactions"}
    for folder, kept in ((base, channels), (delivery, customer)):
        folder.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump({"channels": kept}, allow_unicode=True)
        (folder / "channels.yaml").write_text(text, encoding="utf-8")
    for name, channel in channels.items():
        source = generated / channel["path"]
        if name not in customer:
            (base / channel["path"]).write_bytes(source.read_bytes())
            continue
        ids = held.get(name, set())
        copy_rows(source, base / channel["path"], channel, _outside(ids))
        copy_rows(source, delivery / channel["path"], channel, ids.__contains__)
    truth.drop(chosen.index).to_csv(base / "truth.csv", index=False)
    return base, delivery


def _outside(ids: set[str]) -> Callable[[str], bool]:
    return lambda record_id: record_id not in ids


def copy_rows(
    source: Path, target: Path, channel: dict[str, Any], keep: Callable[[str], bool]
) -> None:
    """The rows of a channel file whose record id `keep` accepts, in the file's own format
    (also how the tests split a generated folder into deliveries)."""
    record_id = channel["record_id"]
    if channel["format"] == "csv":
        encoding = channel.get("encoding", "utf-8")
        rows = list(csv.reader(io.StringIO(source.read_bytes().decode(encoding), newline="")))
        at = rows[0].index(record_id)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            [rows[0], *(row for row in rows[1:] if keep(row[at]))]
        )
        target.write_bytes(out.getvalue().encode(encoding))
    elif channel["format"] == "jsonl":
        lines = source.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if keep(str(json.loads(line)[record_id]))]
        target.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    else:
        sheet = openpyxl.load_workbook(source, read_only=True).active
        rows_in = list(sheet.iter_rows(values_only=True))
        at = rows_in[0].index(record_id)
        book = openpyxl.Workbook(write_only=True)
        page = book.create_sheet()
        for row in [rows_in[0], *(r for r in rows_in[1:] if keep(str(r[at])))]:
            page.append(row)
        book.save(target)


def measure(base: Path, delivery: Path, database: str, scratch: Path) -> dict[str, Any]:
    """The full run of `base` into a new warehouse, then the run of `delivery` into it."""
    url, drop = warehouse(database, scratch)
    try:
        full = run_in_process(base, url)
        incremental = run_in_process(delivery, url)
    finally:
        drop()
    return {
        "database": database,
        "full": full,
        "incremental": incremental,
        "ratio": round(incremental["wall_s"] / full["wall_s"], 3),
    }


def table(results: list[dict[str, Any]]) -> str:
    header = f"{'database':<9} {'run':<12} {'records':>9} " + " ".join(f"{s:>12}" for s in STAGES)
    lines = [header + f" {'wall':>8} {'peak MB':>8} {'ratio':>6}"]
    for row in results:
        for kind in ("full", "incremental"):
            run = row[kind]
            stages = " ".join(f"{run['stages'].get(s, 0):>11.1f}s" for s in STAGES)
            ratio = f"{row['ratio']:>6.3f}" if kind == "incremental" else ""
            lines.append(
                f"{row['database']:<9} {kind:<12} {run['records'] or 0:>9,} {stages}"
                f" {run['wall_s']:>7.1f}s {run['peak_mb']:>8,} {ratio}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__)
    parser.add_argument("--records", type=int, default=300_000, help="source records in all")
    parser.add_argument("--delivery", type=int, default=DELIVERY, help="records delivered later")
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--data", type=Path, default=Path("bench_data/delivery"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    generated = dataset(args.data, args.records, args.seed)
    base, delivery = split_delivery(
        generated, generated.with_name(f"{generated.name}_split"), args.delivery
    )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    results = [measure(base, delivery, db, args.data) for db in args.databases.split(",")]
    print(table(results))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    (args.data / "results.json").write_text(json.dumps(results, indent=2))
    if any(row["ratio"] > 0.10 for row in results):
        print("an incremental run took more than a tenth of the full run's wall")


if __name__ == "__main__":
    main()
