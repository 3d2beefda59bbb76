"""Speed, memory and match quality of each stage on generated data.

Each stage runs in its own process so its peak memory (max RSS) is its own. Usage:

    python -m bench --customers 200000          # ~475k source rows
    python -m bench --customers 420000 --stages ingest,validate   # ~1M source rows

`validate` also prints ingest + standardize + validate together; `docs` times the GX run and
Data Docs on the full frame (not in the default stages).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

from bench import stages

STAGES = ("ingest", "validate", "match")


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

    from mdm.generate import generate

    folder = args.data / f"c{args.customers}_s{args.seed}"
    if not (folder / "truth.csv").exists():
        started = time.perf_counter()
        generate(folder, customers=args.customers, seed=args.seed)
        print(f"generated {args.customers:,} persons in {time.perf_counter() - started:.1f}s")
    print(f"data: {folder}  (machine: {os.cpu_count()} cores)")
    for name in args.stages.split(","):
        result = run_stage(name, folder)
        rate = result["rows"] / result["seconds"]
        line = (
            f"{name:<9} {result['rows']:>10,} rows  {result['seconds']:>7.1f}s  "
            f"{rate:>10,.0f} rows/s  peak {result['peak_mb']:>7,.0f} MB"
        )
        if name == "match":
            line += (
                f"  pairs {result['pairs']:,}  P {result['precision']:.4f}  "
                f"R {result['recall']:.4f}  F1 {result['f1']:.4f}"
            )
        if name == "validate":
            rows, seconds = result["rows_read"], result["ingest_seconds"] + result["seconds"]
            line += f"\n{'together':<9} {rows:>10,} rows  {seconds:>7.1f}s  {rows / seconds:>10,.0f}"
            line += " rows/s  (ingest + standardize + validate)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
