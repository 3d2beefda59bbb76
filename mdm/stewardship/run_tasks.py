"""The tasks a run raises for stewards from matching (possible matches), survivorship
(conflicts) and validation (incomplete and invalid records)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from expectations.suites import golden_customer_suite
from expectations.verdicts import judge, prepare_checks
from mdm.matching import MatchResult
from mdm.matching.audit import AuditSample
from mdm.schema import split_record_key
from mdm.stewardship.tasks import new_task


def _pair_task(
    task_type: str,
    row: Any,
    why: Any,
    customer_of: pd.Series,
    *,
    priority: int,
    digits: int,
    **extra: Any,
) -> dict[str, Any]:
    """A task about two records: `left` and `right` (downstream tools read those keys), their
    customers, the score, and the comparison parts a steward's explanation is built from."""
    left, right = row.left_key, row.right_key
    return new_task(
        task_type,
        key=(left, right),
        priority=priority,
        customer_id=customer_of[left],
        source_system=split_record_key(left)[0],
        details={
            "left": left,
            "right": right,
            "left_customer_id": customer_of[left],
            "right_customer_id": customer_of[right],
            "match_probability": round(float(row.match_probability), digits),
            "match_weight": round(float(row.match_weight), 3),
            **extra,
            "parts": why,
        },
    )


def possible_match_tasks(result: MatchResult, customer_of: pd.Series) -> list[dict[str, Any]]:
    """A task per pair scored between the thresholds whose records ended in different customers."""
    possible = result.pairs[result.pairs["decision"] == "possible"]
    parts = result.parts(possible)
    return [
        _pair_task("possible_match", row, why, customer_of, priority=2, digits=4)
        for row, why in zip(possible.itertuples(index=False), parts, strict=True)
    ]


def merge_audit_tasks(
    result: MatchResult, sample: AuditSample, customer_of: pd.Series
) -> list[dict[str, Any]]:
    """A task per sampled automatic merge: a steward says whether the two records really are
    one person (mdm/matching/audit.py). Not-the-same becomes a cannot-link, so the next run
    splits them."""
    parts = result.parts(result.pairs.loc[sample.pairs.index])
    return [
        _pair_task("merge_audit", row, why, customer_of, priority=3, digits=6, band=int(row.band))
        for row, why in zip(sample.pairs.itertuples(index=False), parts, strict=True)
    ]


def _json_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def conflict_tasks(conflicts: list[dict[str, Any]], id_of: pd.Series) -> list[dict[str, Any]]:
    """A task per golden record whose sources disagree on a critical field."""
    tasks = []
    for conflict in conflicts:
        customer_id = id_of[conflict["cluster"]]
        values = sorted(json.dumps(v["value"], default=str) for v in conflict["values"])
        digest = hashlib.sha256("|".join(values).encode()).hexdigest()[:16]
        tasks.append(
            new_task(
                "conflict",
                key=(customer_id, conflict["field"], digest),
                priority=1 if conflict["field"] == "id_number" else 2,
                customer_id=customer_id,
                details={
                    "field": conflict["field"],
                    "values": [{**v, "value": _json_value(v["value"])} for v in conflict["values"]],
                },
            )
        )
    return tasks


def carried_fields(records: pd.DataFrame, customer_of: pd.Series) -> pd.DataFrame:
    """Customer × field: whether any channel the customer's records come from carries the field
    (some record of that channel, in this run or the warehouse, holds it). A field no channel
    of the customer delivers cannot be missing from its file: a purchased list without phones
    does not make every lead `incomplete`."""
    checked = {e.meta["field"] for e in golden_customer_suite().expectations if e.meta}
    fields = [name for name in records.columns if name in checked]
    by_channel = records[fields].notna().groupby(records["source_system"]).any()
    channels = records.loc[customer_of.index, "source_system"]
    per_record = by_channel.loc[channels.to_numpy()].set_axis(customer_of.index)
    return per_record.groupby(customer_of.to_numpy()).any()


def incomplete_tasks(
    customers: pd.DataFrame, carried: pd.DataFrame | None = None
) -> list[dict[str, Any]]:
    """The golden-customer suite's warnings, one task per customer and rule; with ``carried``
    (see carried_fields), only for fields one of the customer's channels carries."""
    expectations = golden_customer_suite().expectations
    verdicts = judge(prepare_checks(customers), expectations)
    return [
        new_task(
            reason["task"],
            key=(customer_id, reason["rule"]),
            priority=3,
            customer_id=str(customer_id),
            details={key: reason[key] for key in ("field", "rule", "message")},
        )
        for customer_id, reasons in verdicts.reasons.items()
        for reason in reasons
        if carried is None
        or reason["field"] not in carried.columns
        or bool(carried.at[customer_id, reason["field"]])
    ]


def invalid_tasks(warnings: list[dict[str, Any]], customer_of: pd.Series) -> list[dict[str, Any]]:
    """A task per validation warning on a record that was loaded."""
    return [
        new_task(
            w["task"],
            key=(w["record_key"], w["rule"], w["field"]),
            priority=2 if w["field"] == "id_number" else 3,
            customer_id=customer_of.get(w["record_key"]),
            source_system=w["source_system"],
            details={
                "record": w["record_key"],
                **{key: w[key] for key in ("field", "rule", "message")},
            },
        )
        for w in warnings
    ]
