"""Match quality on development test beds of different shapes: pairwise P/R/F1 and wall time of
a whole `mdm run` per set, printed as one table (part of `make bench`).

    python -m bench.quality --persons 2000

The sets are all generated (never a published benchmark data set): the Chinese channels of
`mdm generate`, Latin-script people without identifiers, the same with passport numbers, and a
household-heavy population (most people share a surname, an address and often a phone with
relatives). Splink runs beside our matcher on the Chinese set in `python -m bench`; a Splink
configuration for the Latin sets is still to be written (issue 16).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.testbed.evaluate import Evaluation, pairwise_scores, read_predicted, read_truth


def _sets(persons: int, seed: int) -> dict[str, Callable[[Path], object]]:
    from mdm.testbed.generate import generate
    from mdm.testbed.latin import generate_latin

    return {
        "chinese channels (mdm generate)": lambda out: generate(out, customers=persons, seed=seed),
        "latin, no identifier": lambda out: generate_latin(out, persons=persons, seed=seed),
        "latin, passport numbers": lambda out: generate_latin(
            out, persons=persons, seed=seed, with_ids=True
        ),
        "latin, households": lambda out: generate_latin(
            out, persons=persons, seed=seed, household_share=0.7
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__)
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--data", type=Path, default=Path("bench_data") / "quality")
    args = parser.parse_args()
    print(f"{'development set':<34}{'records':>9}{'P':>8}{'R':>8}{'F1':>8}{'run s':>8}")
    for name, write in _sets(args.persons, args.seed).items():
        folder = args.data / f"{name.split()[0]}_{name.split()[-1]}_{args.persons}_{args.seed}"
        if not (folder / "truth.csv").exists():
            write(folder)
        scores, seconds = measure(folder)
        print(
            f"{name:<34}{scores.records:>9,}{scores.precision:>8.4f}{scores.recall:>8.4f}"
            f"{scores.f1:>8.4f}{seconds:>8.1f}"
        )


if __name__ == "__main__":
    main()
