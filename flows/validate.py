"""Validate: judge every standardized record with the standard-record suite.

Critical failures leave for quarantine with their raw payload and every reason; warnings keep
the row (nulling or flagging the field as the expectation says) and become steward tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from expectations.report import SuiteReport, validate_with_gx
from expectations.suites import standard_record_suite
from expectations.verdicts import (
    CHECK_PREFIX,
    apply_warning_actions,
    judge,
    prepare_checks,
    severity,
)
from flows.ingest import REJECT_COLUMNS


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
    quarantined = records.loc[rejected, list(REJECT_COLUMNS[:-1])].copy()
    quarantined["reasons"] = [
        judged.reasons.get(label, []) + warned.reasons.get(label, []) for label in quarantined.index
    ]
    valid = cleaned.loc[~rejected]
    warnings = [
        {
            "record_key": label,
            "source_system": valid.at[label, "source_system"],
            "source_record_id": valid.at[label, "source_record_id"],
            **reason,
        }
        for label, reasons in warned.reasons.items()
        if label in valid.index
        for reason in reasons
    ]
    return valid.drop(columns=["raw_payload"]), quarantined, warnings


@task(cache_policy=NO_CACHE)
def validate_records(records: pd.DataFrame) -> ValidationResult:
    """Per-row verdicts from the suite, vectorized."""
    valid, quarantined, warnings = split_by_severity(records)
    return ValidationResult(valid=valid, quarantined=quarantined, warnings=warnings)


@task(cache_policy=NO_CACHE)
def build_data_docs(records: pd.DataFrame, docs_dir: Path | None) -> list[SuiteReport]:
    """Run the same suite through GX for the run's counts and its Data Docs page."""
    checked = prepare_checks(records)
    columns = [c for c in checked.columns if c.startswith(CHECK_PREFIX)] + [
        c for c in checked.columns if not c.startswith(CHECK_PREFIX) and c != "raw_payload"
    ]
    reports, _ = validate_with_gx(
        {"standard_record": (standard_record_suite(), checked[columns])}, docs_dir=docs_dir
    )
    return reports


@flow(name="validate")
def validate_flow(records: pd.DataFrame, docs_dir: Path | None = None) -> ValidationResult:
    """Judge the run's standardized records and build the run's Data Docs."""
    result = validate_records(records)
    result.reports = build_data_docs(records, docs_dir)
    return result
