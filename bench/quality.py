"""Match quality on development test beds of different shapes, side by side with Splink 5:
pairwise P/R/F1 per set, printed as one table (part of `make bench`).

    python -m bench.quality --persons 2000

The sets are all generated (never a published benchmark data set): the Chinese channels of
`mdm generate`, Latin-script people without identifiers, the same with passport numbers, a
household-heavy population (most people share a surname, an address and often a phone with
relatives), and Spanish administrative registers (double surnames, households, DNI/NIE numbers
with check letters on two of three channels: mdm/testbed/admin.py).

Ours is a whole `mdm run` into a fresh SQLite warehouse (its time includes reading,
validating and loading). Splink gets the standardized records that pass validation, as our
matcher does, configured as bench/splink_peer.py says (its time is training, prediction and
clustering only); its pairs are predicted at match probability 0.5 and clustered at 0.5 and at
0.9. Both are scored by the same pairwise_scores against the same truth.csv.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.testbed.evaluate import Evaluation, pairwise_scores, read_predicted, read_truth

SPLINK_THRESHOLDS = (0.5, 0.9)


@dataclass(frozen=True)
class TestBed:
    write: Callable[[Path], object]
    population: Literal["chinese", "latin"]  # which Splink configuration fits its records


def _sets(persons: int, seed: int) -> dict[str, TestBed]:
    from mdm.testbed.admin import generate_admin
    from mdm.testbed.generate import generate
    from mdm.testbed.latin import generate_latin

    return {
        "chinese channels (mdm generate)": TestBed(
            lambda out: generate(out, customers=persons, seed=seed), "chinese"
        ),
        "latin, no identifier": TestBed(
            lambda out: generate_latin(out, persons=persons, seed=seed), "latin"
        ),
        "latin, passport numbers": TestBed(
            lambda out: generate_latin(out, persons=persons, seed=seed, with_ids=True), "latin"
        ),
        "latin, households": TestBed(
            lambda out: generate_latin(out, persons=persons, seed=seed, household_share=0.7),
            "latin",
        ),
        "spanish registers, national ids": TestBed(
            lambda out: generate_admin(out, persons=persons, seed=seed), "latin"
        ),
    }


def measure(folder: Path) -> tuple[Evaluation, float]:
    """One whole `mdm run` into a fresh SQLite warehouse, scored against truth.csv."""
    with tempfile.TemporaryDirectory(prefix="mdm-quality-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'warehouse.db'}"
        env = {**os.environ, "MDM_WAREHOUSE_URL": url, "MDM_REPORTS_DIR": scratch}
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 (our own command, on a folder we generated)
            [sys.executable, "-m", "mdm.cli.app", "run", "--sources", str(folder), "--no-docs"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - started
        engine = sa.create_engine(url)
        with Session(engine) as session:
            scores = pairwise_scores(read_predicted(session), read_truth(folder / "truth.csv"))
        engine.dispose()
    return scores, seconds


def measure_splink(folder: Path, population: str) -> tuple[dict[float, Evaluation], float]:
    """Splink on the records our matcher gets, scored at each of SPLINK_THRESHOLDS."""
    from bench.splink_peer import run_splink
    from bench.stages import _valid

    truth = read_truth(folder / "truth.csv")
    result = run_splink(
        _valid(folder),
        population="latin" if population == "latin" else "chinese",
        thresholds=SPLINK_THRESHOLDS,
    )
    scores = {t: pairwise_scores(c, truth) for t, c in result.by_threshold.items()}
    for rule in result.skipped_sessions:
        print(f"  (Splink's EM session on {rule} failed: m underflowed; went on without it)")
    return scores, result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--data", type=Path, default=Path("bench_data") / "quality")
    parser.add_argument("--no-splink", action="store_true", help="our matcher only")
    parser.add_argument("--only", help="run only the sets whose name contains this text")
    args = parser.parse_args()
    low, high = SPLINK_THRESHOLDS
    print(
        f"{'':<34}{'':>9}{'customer-mdm':>32} | {'Splink 5 at ' + str(low):>24}"
        f" | {'at ' + str(high):>8}"
    )
    print(
        f"{'development set':<34}{'records':>9}{'P':>8}{'R':>8}{'F1':>8}{'run s':>8} |"
        f"{'P':>8}{'R':>8}{'F1':>8} |{'F1':>8}{'s':>8}"
    )
    for name, bed in _sets(args.persons, args.seed).items():
        if args.only and args.only not in name:
            continue
        folder = args.data / f"{name.split()[0]}_{name.split()[-1]}_{args.persons}_{args.seed}"
        if not (folder / "truth.csv").exists():
            bed.write(folder)
        scores, seconds = measure(folder)
        line = (
            f"{name:<34}{scores.records:>9,}{scores.precision:>8.4f}{scores.recall:>8.4f}"
            f"{scores.f1:>8.4f}{seconds:>8.1f} |"
        )
        if not args.no_splink:
            peer, peer_seconds = measure_splink(folder, bed.population)
            line += (
                f"{peer[low].precision:>8.4f}{peer[low].recall:>8.4f}{peer[low].f1:>8.4f} |"
                f"{peer[high].f1:>8.4f}{peer_seconds:>8.1f}"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
