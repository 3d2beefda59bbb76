"""Per-row verdicts from the suites' own expectations, computed with vectorized pandas.

GX's per-row output is slow on large frames, so rows are judged here by interpreting each
expectation of the suite (its type and kwargs) as a boolean mask. The suite stays the single
source of rules: an expectation type this module cannot interpret is an error, and a test checks
that these masks count exactly what GX counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from great_expectations.expectations.expectation import Expectation

from expectations.domain import row_failures

CHECK_PREFIX = "check_"
Reason = dict[str, Any]


@dataclass
class Verdicts:
    """What the suite says about each row (keyed by the frame's index labels)."""

    critical: pd.Series  # bool per row: the row fails at least one critical expectation
    reasons: dict[Hashable, list[Reason]] = field(default_factory=dict)  # every failure per row
    failing_counts: dict[str, int] = field(default_factory=dict)  # rule -> failing rows


def prepare_checks(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the derived `check_*` columns that cross-field rules are written against."""
    checks = pd.DataFrame(index=frame.index)
    present = _present(frame)
    if "source_record_id" in frame:
        masked = frame.get("id_masked", pd.Series(False, index=frame.index))
        masked = masked.astype(object).where(masked.notna(), False).astype(bool)
        identity = present("name_key") | present("mobile") | present("email")
        if "id_number" in frame:
            identity |= present("id_number") & ~masked
        checks["check_has_identity"] = identity
        # Resident IDs get the domain rules; other ID types the format their type prescribes.
        id_type = frame.get("id_type", pd.Series(None, index=frame.index, dtype=object))
        resident = (id_type == "CN_RID").to_numpy() & ~masked.to_numpy()
        numbers = frame.get("id_number", pd.Series(None, index=frame.index, dtype=object))
        checks["check_resident_id"] = numbers.astype(object).where(resident, None)
        checks["check_other_id_valid"] = _agreement(frame.get("id_valid"), frame.index).where(
            ~resident, None
        )
        stated = frame.get("gender")
        if stated is not None:  # U (unknown) never disagrees with the ID
            stated = stated.where(stated.isin(["M", "F"]))
        checks["check_id_gender_agrees"] = _equal_where_both(
            frame.assign(gender=stated), "gender", "id_gender"
        )
    if "aum_cny" in frame and "risk_level" in frame:
        holds_assets = pd.to_numeric(frame["aum_cny"], errors="coerce").fillna(0) > 0
        checks["check_risk_assessed"] = ~holds_assets | frame["risk_level"].notna()
    return pd.concat([frame.drop(columns=[c for c in checks if c in frame]), checks], axis=1)


def _present(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    def present(column: str) -> pd.Series:
        if column not in frame:
            return pd.Series(False, index=frame.index)
        values = frame[column]
        return values.notna() & (values.astype(str).str.strip() != "")

    return present


def _agreement(values: pd.Series | None, index: pd.Index) -> pd.Series:
    if values is None:
        return pd.Series(None, index=index, dtype=object)
    return values.astype(object).where(values.notna(), None)


def _equal_where_both(frame: pd.DataFrame, left: str, right: str) -> pd.Series:
    if left not in frame or right not in frame:
        return pd.Series(None, index=frame.index, dtype=object)
    both = frame[left].notna() & frame[right].notna()
    equal = frame[left].astype(object) == frame[right].astype(object)
    return equal.astype(object).where(both, None)


def severity(expectation: Expectation) -> str:
    """critical or warning, as the expectation's meta says."""
    return str((expectation.meta or {})["severity"])


def failing_mask(frame: pd.DataFrame, expectation: Expectation) -> pd.Series:
    """Rows that fail one expectation, exactly as GX counts `unexpected` (nulls never fail
    a value check, as in GX)."""
    domain = row_failures(frame, expectation)
    if domain is not None:
        return domain
    kind = expectation.expectation_type
    column = frame[expectation.column]  # type: ignore[attr-defined]
    missing = column.isna()
    if kind == "expect_column_values_to_not_be_null":
        return missing
    if kind == "expect_column_values_to_be_null":
        return ~missing
    if kind == "expect_column_values_to_be_in_set":
        allowed = list(expectation.value_set)  # type: ignore[attr-defined]
        return ~missing & ~column.isin(allowed)
    if kind == "expect_column_values_to_match_regex":
        regex = expectation.regex  # type: ignore[attr-defined]
        matches = column.astype(object).where(~missing, "").astype(str).str.contains(regex)
        return ~missing & ~matches
    if kind == "expect_column_values_to_be_between":
        numbers = pd.to_numeric(column, errors="coerce")
        low, high = expectation.min_value, expectation.max_value  # type: ignore[attr-defined]
        outside = pd.Series(False, index=frame.index)
        if low is not None:
            outside |= numbers < low
        if high is not None:
            outside |= numbers > high
        return ~missing & outside
    if kind == "expect_column_value_lengths_to_be_between":
        lengths = column.astype(object).where(~missing, "").astype(str).str.len()
        low, high = expectation.min_value, expectation.max_value  # type: ignore[attr-defined]
        outside = pd.Series(False, index=frame.index)
        if low is not None:
            outside |= lengths < low
        if high is not None:
            outside |= lengths > high
        return ~missing & outside
    raise NotImplementedError(f"no per-row verdict for {kind}; add it to expectations/verdicts.py")


def judge(frame: pd.DataFrame, expectations: list[Expectation]) -> Verdicts:
    """Every failing expectation of every row, and which rows fail a critical one."""
    critical = np.zeros(len(frame), dtype=bool)
    reasons: dict[Hashable, list[Reason]] = defaultdict(list)
    counts: dict[str, int] = {}
    labels = frame.index
    for expectation in expectations:
        meta = expectation.meta or {}
        failing = failing_mask(frame, expectation).to_numpy(dtype=bool)
        positions = np.flatnonzero(failing)
        counts[meta["rule"]] = len(positions)
        if meta["severity"] == "critical":
            critical |= failing
        for position in positions:
            reasons[labels[position]].extend(_reasons_for(frame, int(position), meta))
    return Verdicts(
        critical=pd.Series(critical, index=labels),
        reasons=dict(reasons),
        failing_counts=counts,
    )


def _reasons_for(frame: pd.DataFrame, position: int, meta: dict[str, Any]) -> list[Reason]:
    base = {key: meta[key] for key in ("severity", "rule", "field", "message", "action", "task")}
    if meta["rule"] != "parseable":
        return [base]
    # One reason per field that did not parse, so the steward sees which ones.
    fields = str(frame["unparsed_fields"].iat[position]).split()
    return [{**base, "field": name, "message": f"{name} could not be read"} for name in fields]


def apply_warning_actions(frame: pd.DataFrame, verdicts: Verdicts) -> pd.DataFrame:
    """Null the fields whose warning says `action: null`; flagged fields are kept as they are."""
    to_null: dict[str, list[Hashable]] = defaultdict(list)
    for label, row_reasons in verdicts.reasons.items():
        for item in row_reasons:
            if item["severity"] == "warning" and item["action"] == "null":
                to_null[item["field"]].append(label)
    # A shallow copy whose nulled columns are replaced whole: writing into the frame's cells
    # would copy every column (the whole frame again, on a million rows) to keep `frame` intact.
    cleaned = frame.copy(deep=False)
    for field_name, labels in to_null.items():
        if field_name in cleaned:
            column = cleaned[field_name]
            hit = column.index.isin(labels)
            # None in text columns, as everywhere; the dtype's own missing value in the others
            cleaned[field_name] = (
                column.where(~hit, None) if column.dtype == object else column.mask(hit)
            )
    return cleaned
