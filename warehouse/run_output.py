"""What one run writes, computed before the write transaction opens."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mdm.segments.config import SegmentRules
from warehouse.lock import HeldLock


@dataclass
class RunOutput:
    """Everything one run writes, computed before the write transaction opens."""

    run_id: str
    records: pd.DataFrame  # this run's valid standardized records, index record_key
    xref: pd.DataFrame  # index record_key: customer_id, match_score of records the run clustered
    customers: (
        pd.DataFrame
    )  # index customer_id: GOLDEN_FIELDS + quality_score, count_sources, field_sources
    retired_customer_ids: list[str]
    segments: pd.DataFrame  # customer_id, segment_type, segment_value, score, rule_version
    tasks: list[
        dict[str, Any]
    ]  # task_key, task_type, priority, customer_id, source_system, details
    quarantined: pd.DataFrame  # REJECT_COLUMNS
    counts: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    match_parameters: dict[str, Any] | None = None
    score_histogram: dict[str, Any] | None = None  # mdm/matching/whatif.py, for what-if
    report_path: str | None = None
    # the run date the segment rules were applied on (customer_segment_history.changed_on)
    segments_as_of: dt.date | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)  # rm_alert rows
    # KEY_COLUMNS of this run's records (index record_key), stored with the new and changed ones
    match_keys: pd.DataFrame | None = None
    # keys recomputed for stored records whose stored keys were missing or stale: updated in place
    refreshed_keys: pd.DataFrame | None = None
    # KEY_COLUMNS of every record the warehouse holds after the run, from a run that read them
    # all: record_match_key and term_frequency are rewritten from them (else updated by the
    # changed records' keys)
    all_match_keys: pd.DataFrame | None = None
    # a run that computed the segments of the customers it changed only: the rules by which the
    # load brings every other customer's age-driven segments to its date (segment_refresh.py)
    calendar_rules: SegmentRules | None = None
    # the number the run's new customers were numbered from (WarehouseState); the load checks
    # that it is still the next one, so no customer added meanwhile is overwritten
    first_customer_number: int | None = None
    # the run's hold on the warehouse, checked by the load before it writes and before it commits
    lock: HeldLock = field(default_factory=HeldLock)
    # customer_relationship rows the run found (mdm/matching/relations.py RELATIONSHIP_COLUMNS);
    # ``relationships_complete``: every pair was scored, so a stored link not found is gone
    relationships: pd.DataFrame | None = None
    relationships_complete: bool = False
    # customers whose every pair the run scored (an incremental run's): their links are complete
    relationships_settled: list[str] = field(default_factory=list)
    merged_into: dict[str, str] = field(default_factory=dict)  # retired id -> surviving id
    # merge_audit_sample rows: task_key and band of each automatic merge the run drew
    audit_sample: list[dict[str, Any]] = field(default_factory=list)
