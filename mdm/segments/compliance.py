"""Suitability checks that open `compliance` steward tasks, and AUM alerts for managers.

Both are vectorized selections over the profile; only the (few) flagged customers become
dicts. Task keys name their evidence, so a re-run never opens the same task twice while a new
assessment or a riskier product opens a new one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from mdm.segments.config import SegmentRules
from mdm.segments.rules import tier_rank
from mdm.stewardship.tasks import new_task


def _level_code(prefix: str, level: float) -> str | None:
    return None if np.isnan(level) else f"{prefix}{int(level)}"


def compliance_tasks(
    profile: pd.DataFrame, customers: pd.DataFrame, rules: SegmentRules, *, as_of: dt.date
) -> list[dict[str, Any]]:
    """A task when a product's risk exceeds the customer's level (R-number > C-number), and
    when the risk assessment is older than its validity (day `assessment_valid_days` is the
    last valid day)."""
    level = profile["risk_level"].to_numpy(dtype=float)
    product = profile["product_risk"].to_numpy(dtype=float)
    assessed_days = profile["assessed_days"].to_numpy(dtype=float)
    valid_days = rules.risk_profile.assessment_valid_days
    above = product > level  # NaN on either side compares False: nothing to judge
    expired = assessed_days > valid_days
    tasks: list[dict[str, Any]] = []
    ids = profile.index.to_numpy(dtype=object)
    for i in np.flatnonzero(above):
        risk, product_risk = _level_code("C", level[i]), _level_code("R", product[i])
        tasks.append(
            new_task(
                "compliance",
                key=(ids[i], "product_above_risk_level", f"{product_risk}>{risk}"),
                priority=1,
                customer_id=ids[i],
                details={
                    "rule": "product_above_risk_level",
                    "message": f"holds or bought a {product_risk} product with risk level {risk}",
                    "risk_level": risk,
                    "product_risk_max": product_risk,
                    "checked_on": as_of.isoformat(),
                },
            )
        )
    assessed_on = customers["risk_assessed_on"].reindex(profile.index).to_numpy(dtype=object)
    for i in np.flatnonzero(expired):
        on = pd.Timestamp(assessed_on[i]).date().isoformat()
        tasks.append(
            new_task(
                "compliance",
                key=(ids[i], "risk_assessment_expired", on),
                priority=2,
                customer_id=ids[i],
                details={
                    "rule": "risk_assessment_expired",
                    "message": f"risk assessment is {int(assessed_days[i])} days old "
                    f"(valid for {valid_days})",
                    "risk_assessed_on": on,
                    # the last valid day: the follow-up is due by then (already passed)
                    "deadline": (
                        pd.Timestamp(assessed_on[i]).date() + dt.timedelta(days=valid_days)
                    ).isoformat(),
                    "age_days": int(assessed_days[i]),
                    "valid_days": valid_days,
                    "checked_on": as_of.isoformat(),
                },
            )
        )
    return tasks


def aum_alerts(
    profile: pd.DataFrame, customers: pd.DataFrame, rules: SegmentRules
) -> list[dict[str, Any]]:
    """An alert for the relationship manager when a customer in an alert tier (before or now)
    moved more than `more_than_cny` since the last run. A first run has nothing to compare."""
    alert = rules.aum_alert
    tiers = rules.value_tier
    aum = profile["aum"].to_numpy(dtype=float)
    previous = profile["previous_aum"].to_numpy(dtype=float)
    change = aum - np.nan_to_num(previous)
    names = np.array(tiers.names, dtype=object)
    tier_now = names[tier_rank(aum, tiers)]
    tier_before = names[tier_rank(np.nan_to_num(previous), tiers)]
    watched = np.isin(tier_now, alert.tiers) | np.isin(tier_before, alert.tiers)
    # cents decide: 200,000.00 is not more than 200,000, 200,000.01 is
    moved = np.round(np.abs(change), 2) > alert.more_than_cny
    hit = watched & moved & ~np.isnan(previous)
    managers = customers["relationship_manager"].reindex(profile.index).to_numpy(dtype=object)
    ids = profile.index.to_numpy(dtype=object)
    return [
        {
            "customer_id": ids[i],
            "alert_type": "aum_change",
            "relationship_manager": None if pd.isna(managers[i]) else managers[i],
            "details": {
                "aum_before_cny": round(float(previous[i]), 2),
                "aum_now_cny": round(float(aum[i]), 2),
                "change_cny": round(float(change[i]), 2),
                "tier_before": tier_before[i],
                "tier_now": tier_now[i],
                "threshold_cny": alert.more_than_cny,
            },
            "rule_version": alert.version("aum_alert"),
        }
        for i in np.flatnonzero(hit)
    ]
