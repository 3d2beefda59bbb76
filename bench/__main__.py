"""Speed, memory and match quality of each stage on generated data.

Each stage runs in its own process so its peak memory (max RSS) is its own. Usage:

    python -m bench --customers 200000          # ~475k source rows
    python -m bench --customers 420000 --stages ingest,validate   # ~1M source rows

`validate` also prints ingest + standardize + validate together; `docs` times the GX run and
Data Docs on the full frame (not in the default stages). `splink` runs Splink on the records
`match` gets (bench/splink_peer.py) and, after both, the two are compared; `dedupe` times
match + survive + conflicts + customer ids together.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

from bench import stages

STAGES = ("ingest", "validate", "match", "splink", "dedupe", "enrich")


def run_stage(name: str, folder: Path) -> dict[str, Any]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=stages.child, args=(name, folder, queue))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=Path("bench_data"))
    parser.add_argument("--stages", default=",".join(STAGES))
    args = parser.parse_args()

    from mdm.testbed.generate import generate

    folder = args.data / f"c{args.customers}_s{args.seed}"
    if not (folder / "truth.csv").exists():
        started = time.perf_counter()
        generate(folder, customers=args.customers, seed=args.seed)
        print(f"generated {args.customers:,} persons in {time.perf_counter() - started:.1f}s")
    print(f"data: {folder}  (machine: {os.cpu_count()} cores)")
    results: dict[str, dict[str, Any]] = {}
    for name in args.stages.split(","):
        result = results[name] = run_stage(name, folder)
        rate = result["rows"] / result["seconds"]
        line = (
            f"{name:<9} {result['rows']:>10,} rows  {result['seconds']:>7.1f}s  "
            f"{rate:>10,.0f} rows/s  peak {result['peak_mb']:>7,.0f} MB"
        )
        if name in ("match", "splink"):
            line += (
                f"  pairs {result['pairs']:,}  P {result['precision']:.4f}  "
                f"R {result['recall']:.4f}  F1 {result['f1']:.4f}"
            )
        if name == "dedupe":
            line += (
                f"  (match {result['match_seconds']:.1f}s; {result['customers']:,} customers;"
                f" {result['relationships']:,} related pairs in {result['relations_seconds']:.1f}s;"
                f" what-if scores and merge audit {result['audit_seconds']:.1f}s)"
            )
        if name == "incremental":
            line += (
                f"  (vs the full dedupe of {result['full_rows']:,} records in "
                f"{result['full_seconds']:.1f}s; {result['affected']:,} records re-clustered; "
                f"F1 after {result['f1']:.4f})"
            )
        if name == "enrich":
            line += (
                f"  (rows = customers/s; {result['transactions']:,} transactions, "
                f"{result['segments']:,} segments)"
            )
        if "cpu_seconds" in result:  # what a machine busy with other work cannot distort
            line += f"  cpu {result['cpu_seconds']:.1f}s"
        if name == "validate":
            rows, seconds = result["rows_read"], result["ingest_seconds"] + result["seconds"]
            cpu = result["ingest_cpu_seconds"] + result["cpu_seconds"]
            line += (
                f"\n{'together':<9} {rows:>10,} rows  {seconds:>7.1f}s  {rows / seconds:>10,.0f}"
                f" rows/s  cpu {cpu:.1f}s  (ingest + standardize + validate)"
            )
        print(line, flush=True)
    if "match" in results and "splink" in results:
        ours, peer = results["match"], results["splink"]
        print(
            f"ours vs Splink: F1 {ours['f1']:.4f} vs {peer['f1']:.4f}, "
            f"time {ours['seconds']:.1f}s vs {peer['seconds']:.1f}s "
            f"(Splink takes {peer['seconds'] / ours['seconds']:.1f}x as long)"
        )


if __name__ == "__main__":
    main()
