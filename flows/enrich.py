"""Enrich: attach every segment of SPEC §6 to each golden customer, roll the transactions feed
up to customers, and raise compliance tasks and relationship-manager alerts.

The rules live in mdm/segments/ and come from segments.yaml; this flow only wires them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.local_data import local_data_flow
from mdm.schema import REJECT_COLUMNS
from mdm.segments.compliance import aum_alerts, compliance_tasks
from mdm.segments.config import SegmentRules, load_segment_rules
from mdm.segments.profile import ActivityWindow, build_profile
from mdm.segments.rules import assign_segments
from mdm.segments.transactions import (
    HeldTransactions,
    hold_transactions,
    parse_transactions,
    roll_up_held,
)


@dataclass
class TransactionFeed:
    """One transactions channel's rows, held until enrichment (mdm/segments/transactions.py
    HeldTransactions), and the channel its customer_ref points into."""

    channel: str
    ref_channel: str
    held: HeldTransactions  # the parsed rows as aggregates per ref_key, not yet linked
    rejects: pd.DataFrame  # rows rejected while reading, then those that did not parse

    @classmethod
    def parse(
        cls,
        channel: str,
        ref_channel: str,
        mapped: pd.DataFrame,
        rejects: pd.DataFrame,
        window: ActivityWindow,
    ) -> TransactionFeed:
        """The feed of a channel's mapped rows and read rejects. Rolled up per ref_key as
        soon as read: the run holds a feed from before validation until enrichment, and a
        million records bring 2.8 million rows."""
        parsed, bad = parse_transactions(mapped, ref_channel=ref_channel)
        held = hold_transactions(parsed, window)
        rejects = pd.concat([r for r in (rejects, bad) if not r.empty] or [rejects])
        return cls(channel, ref_channel, held, rejects.reset_index(drop=True))

    @property
    def rows_parsed(self) -> int:
        return self.held.rows

    @property
    def rows_read(self) -> int:
        return self.held.rows + len(self.rejects)


@dataclass
class EnrichResult:
    """Segments (long), customers with their transaction fields, tasks, alerts, rejects."""

    segments: pd.DataFrame
    customers: pd.DataFrame
    tasks: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    quarantined: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    transactions_linked: int = 0


def product_prefixes(rules: SegmentRules) -> tuple[str, ...]:
    """Every product-code prefix a campaign asks about."""
    config = rules.campaigns
    lists = (config.wealth_products, config.fund_sip, config.bond_funds, config.bancassurance)
    return tuple(dict.fromkeys(p for rule in lists for p in rule.product_prefixes))


def activity_window(rules: SegmentRules, as_of: dt.date) -> ActivityWindow:
    """What the roll-up of a run on `as_of` under `rules` measures transactions against."""
    return ActivityWindow(
        as_of=as_of,
        quiet_days=rules.lifecycle.churn_warning.quiet_days,
        product_prefixes=product_prefixes(rules),
    )


def with_transaction_fields(customers: pd.DataFrame, activity: pd.DataFrame) -> pd.DataFrame:
    """The golden transaction fields, where the feed knows the customer: the later of the two
    last_txn_at, the feed's 12-month count and amount, and the higher product risk."""
    known = activity.index.intersection(customers.index)
    if known.empty:
        return customers
    out = customers.copy()
    act = activity.loc[known]
    feed_last = pd.to_datetime(act["last_txn_at"])
    golden_last = pd.to_datetime(out.loc[known, "last_txn_at"], errors="coerce", utc=True)
    golden_last = golden_last.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    newest = feed_last.where(golden_last.isna() | (feed_last > golden_last), golden_last)
    out["last_txn_at"] = out["last_txn_at"].astype(object)
    out.loc[known, "last_txn_at"] = newest.dt.to_pydatetime()
    for column in ("txn_count_12m", "txn_amount_12m_cny", "product_risk_max"):
        out[column] = out[column].astype(object)
    out.loc[known, "txn_count_12m"] = act["txn_count_12m"].astype(int).to_numpy(dtype=object)
    out.loc[known, "txn_amount_12m_cny"] = act["txn_amount_12m_cny"].round(2).to_numpy(object)
    golden_risk = pd.to_numeric(
        out.loc[known, "product_risk_max"].astype("string").str.extract(r"^R([1-5])$")[0],
        errors="coerce",
    ).to_numpy(dtype=float)
    highest = np.fmax(golden_risk, act["txn_product_risk"].to_numpy(dtype=float))
    out.loc[known, "product_risk_max"] = np.array(
        [None if np.isnan(v) else f"R{int(v)}" for v in highest], dtype=object
    )
    return out


@task(cache_policy=NO_CACHE)
def roll_up_transactions(
    feeds: list[TransactionFeed],
    customer_of: pd.Series,
    rules: SegmentRules,
    as_of: dt.date,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per-customer activity, the rejected transaction rows, and how many rows were linked."""
    activity, unknown, linked = roll_up_held(
        [feed.held for feed in feeds], customer_of, activity_window(rules, as_of)
    )
    reject_parts = [
        part for feed, u in zip(feeds, unknown, strict=True) for part in (feed.rejects, u)
    ]
    rejects = pd.concat(
        [r for r in reject_parts if not r.empty] or [pd.DataFrame(columns=REJECT_COLUMNS)],
        ignore_index=True,
    )[list(REJECT_COLUMNS)]
    return activity, rejects, linked


@task(cache_policy=NO_CACHE)
def segment_customers(
    customers: pd.DataFrame,
    activity: pd.DataFrame,
    previous: pd.DataFrame,
    rules: SegmentRules,
    as_of: dt.date,
) -> EnrichResult:
    """Segments, compliance tasks and AUM alerts of every golden customer.

    `previous` is the warehouse before this run: index customer_id, columns aum_cny and
    value_tier (either may be missing for new customers).
    """
    profile = build_profile(
        customers, activity, as_of=as_of, previous_aum=previous.get("aum_cny", pd.Series())
    )
    segments = assign_segments(
        profile,
        rules,
        as_of=as_of,
        previous_tier=previous.get("value_tier", pd.Series(dtype=object)),
    )
    return EnrichResult(
        segments=segments,
        customers=with_transaction_fields(customers, activity),
        tasks=compliance_tasks(profile, customers, rules, as_of=as_of),
        alerts=aum_alerts(profile, customers, rules),
    )


@local_data_flow(name="enrich")
def enrich_flow(
    customers: pd.DataFrame,
    *,
    customer_of: pd.Series | None = None,
    feeds: list[TransactionFeed] | None = None,
    previous: pd.DataFrame | None = None,
    rules: SegmentRules | None = None,
    as_of: dt.date | None = None,
) -> EnrichResult:
    """Segments of every golden customer of this run, as of the run date (default: today)."""
    rules = rules or load_segment_rules()
    as_of = as_of or dt.date.today()
    activity, rejects, linked = roll_up_transactions(
        feeds or [],
        customer_of if customer_of is not None else pd.Series(dtype=object),
        rules,
        as_of,
    )
    result = segment_customers(
        customers, activity, previous if previous is not None else pd.DataFrame(), rules, as_of
    )
    result.quarantined = rejects
    result.transactions_linked = linked
    return result
