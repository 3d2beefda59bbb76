"""How a whole run's cost grows with its size: `mdm run --no-docs` end to end on generated data
of 100k, 300k and 1M source records (3M with --with-3m), into SQLite and PostgreSQL.

Each run is a process of its own (`mdm run`, as a user starts it, into a new warehouse), so its
peak memory (max RSS, from wait4) is its own. Prints the wall time of every stage and the peak,
writes the results as JSON beside the data and draws them to docs/img/growth.svg.

    python -m bench.growth                              # 100k, 300k, 1M on both databases
    python -m bench.growth --sizes 100000,300000 --databases sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "docs" / "img" / "growth.svg"
RECORDS_PER_PERSON = 2.3755  # what `mdm generate` writes per person, all channels together
POSTGRES_URL = os.environ.get(
    "MDM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STAGES = ("ingest", "transactions", "validate", "dedupe", "enrich", "load", "other")
_TIME = re.compile(r"(\w+) ([\d.]+)s")
_TOTAL = re.compile(r"total\s+([\d,]+) read")


def dataset(folder: Path, records: int, seed: int) -> Path:
    """Generated channels of about `records` source records (made once, then reused)."""
    from mdm.testbed.generate import generate

    target = folder / f"r{records}_s{seed}"
    if not (target / "truth.csv").exists():
        generate(target, customers=round(records / RECORDS_PER_PERSON), seed=seed)
    return target


def timed_run(sources: Path, url: str) -> dict[str, Any]:
    """One `mdm run --no-docs` into `url`: wall time, stage times, records and peak RSS."""
    command = [sys.executable, "-m", "mdm.cli.app", "run", "--sources", str(sources)]
    command += ["--warehouse", url, "--no-docs", "--as-of", "2025-06-30"]
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 (our own CLI, arguments as a list)
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MDM_PROGRESS": "0", "PYTHONPATH": str(ROOT)},
    )
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"mdm run failed ({process.returncode}): {stderr.strip()[-500:]}")
    timings = next(line for line in stdout.splitlines() if line.startswith("time:"))
    total = _TOTAL.search(stdout)
    stages = {name: float(seconds) for name, seconds in _TIME.findall(timings)}
    # the rest of the wall: starting Python and Prefect's temporary server, reading the
    # warehouse state, the run's bookkeeping
    stages["other"] = round(wall - sum(stages.values()), 1)
    return {
        "wall_s": round(wall, 1),
        "stages": stages,
        "records": int(total.group(1).replace(",", "")) if total else None,
    }


def run_in_process(sources: Path, url: str) -> dict[str, Any]:
    """`timed_run` in a child of its own, so that max RSS is that run's alone."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, report through the pipe, leave without cleanup
        os.close(read)
        try:
            result: dict[str, Any] = timed_run(sources, url)
        except Exception as exc:  # reported to the parent, which raises it
            result = {"error": str(exc)}
        with os.fdopen(write, "w") as out:
            json.dump(result, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        result = json.load(answer)
    _, _, usage = os.wait4(pid, 0)
    if "error" in result:
        raise RuntimeError(result["error"])
    result["peak_mb"] = round(usage.ru_maxrss / 1024)  # the largest process: mdm run itself
    return result


def warehouse(database: str, scratch: Path) -> tuple[str, Any]:
    """A new, empty warehouse: a SQLite file, or a PostgreSQL schema of its own; and how to
    drop it afterwards."""
    if database == "sqlite":
        path = scratch / f"growth_{uuid.uuid4().hex[:8]}.db"

        def remove() -> None:
            for written in scratch.glob(f"{path.name}*"):  # the database and its lock file
                written.unlink()

        return f"sqlite:///{path}", remove
    schema = f"mdm_growth_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", drop


def table(results: list[dict[str, Any]]) -> str:
    header = f"{'database':<9} {'records':>10} " + " ".join(f"{s:>12}" for s in STAGES)
    header += f" {'wall':>8} {'µs/record':>10} {'peak MB':>8}"
    lines = [header]
    for row in results:
        stages = " ".join(f"{row['stages'].get(s, 0):>11.1f}s" for s in STAGES)
        per_record = row["wall_s"] / row["records"] * 1e6
        lines.append(
            f"{row['database']:<9} {row['records']:>10,} {stages} {row['wall_s']:>7.1f}s"
            f" {per_record:>10.0f} {row['peak_mb']:>8,}"
        )
    return "\n".join(lines)


def chart(results: list[dict[str, Any]], path: Path) -> None:
    """Stage times per size (stacked) and peak memory, per database, as an SVG."""
    import altair as alt
    import pandas as pd
    import vl_convert

    stages = pd.DataFrame(
        [
            {"database": r["database"], "records": r["records"], "stage": s, "seconds": t}
            for r in results
            for s, t in r["stages"].items()
        ]
    )
    peaks = pd.DataFrame(results)[["database", "records", "peak_mb"]]
    order = list(STAGES)
    times = (
        alt.Chart(stages, title="Wall time per stage (s)")
        .mark_bar()
        .encode(
            x=alt.X("records:O", title=None),
            y=alt.Y("sum(seconds):Q", title="seconds"),
            color=alt.Color("stage:N", sort=order),
            order=alt.Order("stage_order:Q"),
            column=alt.Column("database:N", title=None),
        )
        .transform_calculate(stage_order=f"indexof({json.dumps(order)}, datum.stage)")
    )
    memory = (
        alt.Chart(peaks, title="Peak memory (MB)")
        .mark_line(point=True)
        .encode(
            x=alt.X("records:Q", title="source records", scale=alt.Scale(type="log")),
            y=alt.Y("peak_mb:Q", title="MB"),
            color=alt.Color("database:N"),
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    both = alt.vconcat(times, memory).resolve_scale(color="independent")
    path.write_text(vl_convert.vegalite_to_svg(both.to_json()))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument("--sizes", default="100000,300000,1000000", help="source records")
    parser.add_argument("--with-3m", action="store_true", help="also 3,000,000 records")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--data", type=Path, default=Path("bench_data/growth"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chart", type=Path, default=CHART)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")] + ([3_000_000] if args.with_3m else [])
    args.data.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    results = []
    for size in sizes:
        sources = dataset(args.data, size, args.seed)
        for database in args.databases.split(","):
            url, drop = warehouse(database, args.data)
            try:
                result = run_in_process(sources, url)
            finally:
                drop()
            results.append({"database": database, "target": size, **result})
            print(table(results[-1:]).splitlines()[-1], flush=True)
    print(table(results))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    (args.data / "results.json").write_text(json.dumps(results, indent=2))
    chart(results, args.chart)
    print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
