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


INCREMENT = 10_000  # records an incremental run brings


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ingest(folder: Path) -> tuple[int, Any, float]:
    """Read and standardize every channel: (rows read, standardized records, seconds)."""
    import pandas as pd

    from flows.ingest import ingest_channel, standardize_channel
    from mdm.channels.config import load_channels

    started = time.perf_counter()
    config = load_channels(folder)
    batches = [
        standardize_channel.fn(ingest_channel.fn(config, channel), channel)
        for channel in config.channels
    ]
    rows = sum(b.rows_read for b in batches)
    return rows, pd.concat([b.records for b in batches]), time.perf_counter() - started


def stage_ingest(folder: Path) -> dict[str, Any]:
    cpu = time.process_time()
    rows, _, seconds = _ingest(folder)
    return {"rows": rows, "seconds": seconds, "cpu_seconds": time.process_time() - cpu}


def stage_validate(folder: Path) -> dict[str, Any]:
    """Per-row verdicts; also reports the ingest it needed, for the rate of the two together."""
    from flows.validate import split_by_severity

    ingest_cpu = time.process_time()
    rows, records, ingest_seconds = _ingest(folder)
    started, cpu = time.perf_counter(), time.process_time()
    split_by_severity(records)
    return {
        "rows": len(records),
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "rows_read": rows,
        "ingest_seconds": ingest_seconds,
        "ingest_cpu_seconds": cpu - ingest_cpu,
    }


def stage_docs(folder: Path) -> dict[str, Any]:
    """The run's GX validation and Data Docs on the full frame."""
    import tempfile

    from flows.validate import build_data_docs

    _, records, _ = _ingest(folder)
    started, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as docs:
        build_data_docs.fn(records, Path(docs))
    seconds = time.perf_counter() - started
    return {"rows": len(records), "seconds": seconds, "cpu_seconds": time.process_time() - cpu}


def stage_match(folder: Path) -> dict[str, Any]:
    from mdm.matching import match_records
    from mdm.testbed.evaluate import pairwise_scores, read_truth

    valid = _valid(folder)
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


def _valid(folder: Path) -> Any:
    """The standardized records that pass validation, as the dedupe flow receives them."""
    from flows.validate import split_by_severity

    _, records, _ = _ingest(folder)
    return split_by_severity(records)[0]


def stage_splink(folder: Path) -> dict[str, Any]:
    """Splink on the same records as `match`, as a yardstick (bench/splink_peer.py)."""
    from bench.splink_peer import run_splink
    from mdm.testbed.evaluate import pairwise_scores, read_truth

    valid = _valid(folder)
    result = run_splink(valid)
    quality = pairwise_scores(result.clusters, read_truth(folder / "truth.csv"))
    return {
        "rows": len(valid),
        "seconds": result.seconds,
        "pairs": result.pairs,
        "precision": quality.precision,
        "recall": quality.recall,
        "f1": quality.f1,
    }


def stage_dedupe(folder: Path) -> dict[str, Any]:
    """The dedupe flow's work on a first run: match, survive, conflicts, stable ids."""
    import pandas as pd

    from mdm.customer_ids import assign_customer_ids
    from mdm.matching import MatchSettings, match_records
    from mdm.matching.audit import automatic_merges, sample_merges
    from mdm.matching.relations import related_customers
    from mdm.matching.survive import find_conflicts, survive
    from mdm.matching.whatif import score_histogram

    valid = _valid(folder)
    started = time.perf_counter()
    result = match_records(valid)
    matched = time.perf_counter()
    survive(valid, result.clusters)
    find_conflicts(valid, result.clusters)
    id_of, _ = assign_customer_ids(result.clusters, pd.Series(dtype=object), next_number=1)
    related = time.perf_counter()
    links = related_customers(result.pairs, result.clusters.map(id_of), valid)
    audited = time.perf_counter()
    # what the flow adds after matching: the stored scores for what-if, the merge audit
    settings = MatchSettings()
    score_histogram(result.pairs, upper=settings.upper, lower=settings.lower)
    merged = automatic_merges(result.pairs, upper=settings.upper)
    sample_merges(merged, upper=settings.upper, size=settings.audit_sample, seed=0)
    return {
        "rows": len(valid),
        "seconds": time.perf_counter() - started,
        "match_seconds": matched - started,
        "relations_seconds": audited - related,
        "audit_seconds": time.perf_counter() - audited,
        "relationships": len(links),
        "customers": result.clusters.nunique(),
    }


def stage_incremental(folder: Path) -> dict[str, Any]:
    """The dedupe flow's work on a warehouse built from all but 10,000 records, then on an
    incremental run that brings those 10,000 (the warehouse reads and writes are not timed)."""
    import pandas as pd

    from flows.dedupe import changed_records, combine_with_state, incremental, merge_task
    from mdm.matching import MatchSettings, match_delta, match_records
    from mdm.matching.keys import record_keys
    from mdm.testbed.evaluate import pairwise_scores, read_truth
    from warehouse.state import WarehouseState

    valid = _valid(folder)
    new = valid.sample(n=min(INCREMENT, len(valid) // 10), random_state=0)
    base = valid.drop(new.index)
    empty = WarehouseState(
        records=base.iloc[:0], customer_of=pd.Series(dtype=object), customers=pd.DataFrame()
    )
    started = time.perf_counter()
    full = merge_task.fn(base, match_records(base), empty, [])
    base_keys = record_keys(base)  # the dedupe flow computes them for the load to store
    full_seconds = time.perf_counter() - started

    parameters = full.parameters
    state = WarehouseState(
        records=base,
        # as read_state gives it: in the records' order and index, customer ids as codes
        customer_of=full.xref["customer_id"].reindex(base.index).astype("category"),
        customers=full.customers,
        raw_hashes=base["raw_hash"],
        match_scores=full.xref["match_score"].reindex(base.index),
        match_parameters=parameters,
        next_customer_number=len(full.customers) + 1,
        match_keys=base_keys,
    )
    started = time.perf_counter()
    combined = combine_with_state(new, state, record_keys(new))
    records = combined.records
    delta = changed_records(new, state)
    assert incremental(delta, state, MatchSettings())
    result = match_delta(
        records,
        delta=delta,
        customer_of=combined.customer_of,
        parameters=parameters,
        keys=combined.keys,
    )
    after = merge_task.fn(records, result, state, [])
    seconds = time.perf_counter() - started
    quality = pairwise_scores(after.xref["customer_id"], read_truth(folder / "truth.csv"))
    return {
        "rows": len(new),
        "seconds": seconds,
        "full_rows": len(base),
        "full_seconds": full_seconds,
        "affected": len(result.clusters),
        "f1": quality.f1,
    }


def stage_enrich(folder: Path) -> dict[str, Any]:
    """Every segment, compliance task and alert of a synthetic million customers (the folder's
    data is not needed: enrichment is timed on a frame of its own, see bench/enrich.py)."""
    from bench.enrich import ENRICH_CUSTOMERS, time_enrich

    return time_enrich(ENRICH_CUSTOMERS)


def child(stage: str, folder: Path, queue: Any) -> None:
    """Entry point of a stage's process: its result and its own peak memory."""
    result = globals()[f"stage_{stage}"](folder)
    result["peak_mb"] = _peak_mb()
    queue.put(result)
