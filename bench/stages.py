"""The stages `python -m bench` times, each run in a spawned process of its own.

They live outside `bench/__main__.py` because a spawned child imports its target by module
name, and multiprocessing cannot re-import a package's `__main__`.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ingest(folder: Path) -> tuple[int, Any, float]:
    """Read and standardize every channel: (rows read, standardized records, seconds)."""
    import pandas as pd

    from flows.ingest import ingest_channel, standardize_channel
    from mdm.config import load_channels

    started = time.perf_counter()
    config = load_channels(folder)
    batches = [
        standardize_channel.fn(ingest_channel.fn(config, channel), channel)
        for channel in config.channels
    ]
    rows = sum(b.rows_read for b in batches)
    return rows, pd.concat([b.records for b in batches]), time.perf_counter() - started


def stage_ingest(folder: Path) -> dict[str, Any]:
    rows, _, seconds = _ingest(folder)
    return {"rows": rows, "seconds": seconds}


def stage_validate(folder: Path) -> dict[str, Any]:
    """Per-row verdicts; also reports the ingest it needed, for the rate of the two together."""
    from flows.validate import split_by_severity

    rows, records, ingest_seconds = _ingest(folder)
    started = time.perf_counter()
    split_by_severity(records)
    return {
        "rows": len(records),
        "seconds": time.perf_counter() - started,
        "rows_read": rows,
        "ingest_seconds": ingest_seconds,
    }


def stage_docs(folder: Path) -> dict[str, Any]:
    """The run's GX validation and Data Docs on the full frame."""
    import tempfile

    from flows.validate import build_data_docs

    _, records, _ = _ingest(folder)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as docs:
        build_data_docs.fn(records, Path(docs))
    return {"rows": len(records), "seconds": time.perf_counter() - started}


def stage_match(folder: Path) -> dict[str, Any]:
    from flows.validate import split_by_severity
    from mdm.evaluate import pairwise_scores, read_truth
    from mdm.matching import match_records

    _, records, _ = _ingest(folder)
    valid, _, _ = split_by_severity(records)
    started = time.perf_counter()
    result = match_records(valid)
    seconds = time.perf_counter() - started
    quality = pairwise_scores(result.clusters, read_truth(folder / "truth.csv"))
    return {
        "rows": len(valid),
        "seconds": seconds,
        "pairs": len(result.pairs),
        "precision": quality.precision,
        "recall": quality.recall,
        "f1": quality.f1,
        "customers": quality.customers,
        "persons": quality.persons,
    }


def child(stage: str, folder: Path, queue: Any) -> None:
    """Entry point of a stage's process: its result and its own peak memory."""
    result = globals()[f"stage_{stage}"](folder)
    result["peak_mb"] = _peak_mb()
    queue.put(result)
