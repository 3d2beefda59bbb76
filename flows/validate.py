"""Validate: judge every standardized record with the standard-record suite.

Critical failures leave for quarantine with their raw payload and every reason; warnings keep
the row (nulling or flagging the field as the expectation says) and become steward tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from expectations.report import SuiteReport, validate_with_gx
from expectations.suites import (
    customer_segment_suite,
    customer_xref_suite,
    standard_record_suite,
)
from expectations.verdicts import (
    CHECK_PREFIX,
    apply_warning_actions,
    judge,
    prepare_checks,
    severity,
)
from flows.dask import SEQUENTIAL, parameters_left_behind
from flows.local_data import local_data_flow
from mdm.errors import TableCheckError
from mdm.schema import REJECT_COLUMNS

DOCS_SAMPLE_ROWS = 100_000
TABLE_SUITES = {"customer_xref": customer_xref_suite, "customer_segment": customer_segment_suite}


@dataclass
class ValidationResult:
    """Records fit to match, rows for quarantine, and the warnings stewards should see."""

    valid: pd.DataFrame  # index: record_key
    quarantined: pd.DataFrame  # REJECT_COLUMNS
    warnings: list[dict[str, Any]] = field(default_factory=list)
    reports: list[SuiteReport] = field(default_factory=list)
    failing_counts: dict[str, int] = field(default_factory=dict)


def split_by_severity(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Judge the records: (valid records, quarantined rows, warnings of the valid ones).

    Warnings are applied first, so a field nulled by a warning (a 10 MB "name") no longer
    counts as the identity that the critical rules ask for.
    """
    expectations = standard_record_suite().expectations
    criticals = [e for e in expectations if severity(e) == "critical"]
    warnings_only = [e for e in expectations if severity(e) == "warning"]

    warned = judge(prepare_checks(records), warnings_only)
    cleaned = apply_warning_actions(records, warned)
    judged = judge(prepare_checks(cleaned), criticals)

    rejected = judged.critical.to_numpy()
    quarantined = records[list(REJECT_COLUMNS[:-1])].loc[rejected].copy()
    quarantined["reasons"] = [
        judged.reasons.get(label, []) + warned.reasons.get(label, []) for label in quarantined.index
    ]
    # The payload was kept for quarantine only; dropped before the copy that filtering makes.
    valid = cleaned.drop(columns=["raw_payload"]).loc[~rejected]
    # One lookup for all warned rows: a per-row .at is the slow part on a million records.
    warned_rows = valid.loc[
        valid.index.intersection(list(warned.reasons), sort=False),
        ["source_system", "source_record_id"],
    ]
    warnings = [
        {"record_key": label, "source_system": system, "source_record_id": record_id, **reason}
        for label, system, record_id in warned_rows.itertuples(name=None)
        for reason in warned.reasons[label]
    ]
    return valid, quarantined, warnings


@task(cache_policy=NO_CACHE)
def validate_records(records: pd.DataFrame) -> ValidationResult:
    """Per-row verdicts from the suite, vectorized."""
    valid, quarantined, warnings = split_by_severity(records)
    return ValidationResult(valid=valid, quarantined=quarantined, warnings=warnings)


@task(cache_policy=NO_CACHE)
def build_data_docs(records: pd.DataFrame, docs_dir: Path | None) -> list[SuiteReport]:
    """Run the same suite through GX for the run's Data Docs page.

    The per-row verdicts already count every rule on every row (and a test holds them equal to
    GX's counts), so GX runs only for the page: not at all without docs_dir, and on a seeded
    sample of DOCS_SAMPLE_ROWS rows for larger runs, where GX would take ~4x as long as the
    verdicts themselves; the page's asset is then named `standard_record_sample`.
    """
    if docs_dir is None:
        return []
    name = "standard_record"
    if len(records) > DOCS_SAMPLE_ROWS:
        records, name = records.sample(n=DOCS_SAMPLE_ROWS, random_state=0), f"{name}_sample"
    checked = prepare_checks(records)
    columns = [c for c in checked.columns if c.startswith(CHECK_PREFIX)] + [
        c for c in checked.columns if not c.startswith(CHECK_PREFIX) and c != "raw_payload"
    ]
    reports, _ = validate_with_gx(
        {name: (standard_record_suite(), checked[columns])}, docs_dir=docs_dir
    )
    return reports


@task(cache_policy=NO_CACHE)
def check_tables(tables: dict[str, pd.DataFrame]) -> None:
    """Judge each warehouse table with its suite before load; a critical failure stops the load
    before anything is written, naming the table, the rule and how many rows break it."""
    failures = []
    for table, frame in tables.items():
        suite = TABLE_SUITES[table]()
        verdicts = judge(frame, [e for e in suite.expectations if severity(e) == "critical"])
        for expectation in suite.expectations:
            meta = expectation.meta or {}
            count = verdicts.failing_counts.get(meta["rule"], 0)
            if count:
                failures.append(f"{table}: {count:,} rows fail {meta['rule']} ({meta['message']})")
    if failures:
        raise TableCheckError("nothing was loaded: " + "; ".join(failures))


@local_data_flow(name="validate", task_runner=SEQUENTIAL)
def validate_flow(records: pd.DataFrame, docs_dir: Path | None = None) -> ValidationResult:
    """Judge the run's standardized records, a channel per task (every rule judges a row on its
    own, so the parts are judged as the whole would be), and build the run's Data Docs."""
    with parameters_left_behind():  # on Dask, a task would carry every record (flows/dask.py)
        parts = [
            validate_records.submit(part)
            for _, part in records.groupby("source_system", sort=False, observed=True)
        ]
    results = [part.result() for part in parts]
    if not results:  # no records: the empty frame's verdicts, with its columns
        results = [validate_records(records)]
    result = ValidationResult(
        valid=pd.concat([r.valid for r in results]),
        quarantined=pd.concat([r.quarantined for r in results]),
        warnings=[warning for r in results for warning in r.warnings],
    )
    for part in results:  # see _let_go
        _let_go(part)
    result.reports = build_data_docs(records, docs_dir)
    return result


def _let_go(part: ValidationResult) -> None:
    """Empty a channel's result once the run's holds its rows: Prefect's finished task runs
    keep their results, in reference cycles that only a full collection (put off until the
    run's end: flows/collector.py) frees, so each channel's records would stay beside the
    run's copy of them to the end of the run."""
    part.valid = part.valid.iloc[:0]
    part.quarantined = part.quarantined.iloc[:0]
    part.warnings = []
