"""The enrich stage on a synthetic frame of golden customers and their transactions.

Enrichment needs no matching, so it is timed on its own frame: N customers shaped like the
golden records the dedupe stage hands over, with about five transactions each.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pandas as pd

from mdm.schema import GOLDEN_FIELDS

AS_OF = dt.date(2025, 6, 30)
ENRICH_CUSTOMERS = 1_000_000


def synthetic_customers(n: int, rng: np.random.Generator) -> pd.DataFrame:
    index = pd.Index([f"C{i:09d}" for i in range(1, n + 1)], name="customer_id")
    frame = pd.DataFrame(index=index, columns=list(GOLDEN_FIELDS), dtype=object)
    frame["aum_cny"] = np.round(rng.lognormal(np.log(120_000), 1.6, n), 2)
    birth = np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, n).astype("timedelta64[D]")
    frame["birth_date"] = pd.Series(birth, index=index).dt.date
    level = rng.integers(1, 6, n)
    frame["risk_level"] = np.array(["", "C1", "C2", "C3", "C4", "C5"], dtype=object)[level]
    # like the generated data: about 5 % expired assessments and 5 % products above the level
    assessed = np.datetime64(AS_OF) - rng.integers(0, 385, n).astype("timedelta64[D]")
    frame["risk_assessed_on"] = pd.Series(assessed, index=index).dt.date
    product = np.where(rng.random(n) < 0.05, np.minimum(level + 1, 5), level)
    frame["product_risk_max"] = np.array(["", "R1", "R2", "R3", "R4", "R5"], dtype=object)[product]
    frame["occupation"] = np.array(["医生", "教师", "工人", None], dtype=object)[
        rng.integers(0, 4, n)
    ]
    frame["marketing_consent"] = rng.random(n) < 0.6
    frame["do_not_disturb"] = rng.random(n) < 0.05
    frame["relationship_manager"] = "经理"
    return frame


def synthetic_transactions(ids: np.ndarray, per_customer: float, rng: np.random.Generator) -> Any:
    n = int(len(ids) * per_customer)
    codes = np.array(["TD0001", "TB0002", "WM0003", "SP0004", "TR0005", "F0006"], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": ids[rng.integers(0, len(ids), n)],
            "txn_at": np.datetime64(AS_OF, "s")
            - rng.integers(0, 730 * 86_400, n).astype("timedelta64[s]"),
            "amount_cny": np.round(rng.lognormal(np.log(20_000), 1.2, n), 2),
            "product_code": codes[rng.integers(0, len(codes), n)],
            "product_risk": np.nan,  # the customers' product_risk_max carries the risk
        }
    )


def time_enrich(customers: int, seed: int = 7) -> dict[str, Any]:
    """Roll-up, profile, every segment, compliance tasks and alerts; seconds exclude the frame
    building."""
    from flows.enrich import product_prefixes
    from mdm.segments.compliance import aum_alerts, compliance_tasks
    from mdm.segments.config import load_segment_rules
    from mdm.segments.profile import build_profile, roll_up
    from mdm.segments.rules import assign_segments

    rng = np.random.default_rng(seed)
    frame = synthetic_customers(customers, rng)
    transactions = synthetic_transactions(frame.index.to_numpy(), 5.0, rng)
    previous_aum = frame["aum_cny"].astype(float) * rng.uniform(0.8, 1.2, customers)
    rules = load_segment_rules()
    started = time.perf_counter()
    activity = roll_up(
        transactions,
        as_of=AS_OF,
        quiet_days=rules.lifecycle.churn_warning.quiet_days,
        product_prefixes=product_prefixes(rules),
    )
    profile = build_profile(frame, activity, as_of=AS_OF, previous_aum=previous_aum)
    segments = assign_segments(profile, rules, as_of=AS_OF, previous_tier=pd.Series(dtype=object))
    tasks = compliance_tasks(profile, frame, rules, as_of=AS_OF)
    alerts = aum_alerts(profile, frame, rules)
    return {
        "rows": customers,
        "seconds": time.perf_counter() - started,
        "transactions": len(transactions),
        "segments": len(segments),
        "tasks": len(tasks),
        "alerts": len(alerts),
    }
