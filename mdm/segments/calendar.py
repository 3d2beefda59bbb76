"""Segments that move with the calendar alone, brought to a later date without a run.

An incremental run recomputes the segments of the customers it changes; every other customer's
segments stay as the run date that last computed them left them. What the passing days alone
change, holding the customer's data and transactions as they were, is:

- age: the campaign lists with an age band (wealth products, bond funds, bancassurance, and
  leaving the fund SIP list), and the prime-age point of the value quadrant's potential;
- the contact due date: a cadence after the last transaction, or the run date once that has
  passed (``next_contact_due`` never lies before the date the segments are at).

Joining the fund SIP list by age needs to know the customer bought no SIP fund, which only the
transactions show: that waits for a run with them. So do the transaction windows (recency, the
12-month counts, RFM, lifecycle), which are computed from a run's transaction feeds.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from mdm.segments.config import SegmentRules
from mdm.segments.profile import ages, build_profile, empty_activity
from mdm.segments.rules import SEGMENT_COLUMNS, _campaign, campaigns, quadrant_of

AGE_BAND_LISTS = ("wealth_products", "bond_funds", "bancassurance")
# Segment types whose value the date alone moves (the refresh recomputes these only).
AGE_DRIVEN_SEGMENTS = (
    "value_quadrant",
    *(f"campaign_{name}" for name in (*AGE_BAND_LISTS, "fund_sip")),
)


def aged(customers: pd.DataFrame, before: dt.date, after: dt.date) -> np.ndarray:
    """Which customers' age in whole years differs between the two dates."""
    then = ages(customers["birth_date"], customers["birth_year"], before)
    now = ages(customers["birth_date"], customers["birth_year"], after)
    return ~((then == now) | (np.isnan(then) & np.isnan(now)))


def refreshed_segments(
    customers: pd.DataFrame,
    segments: pd.DataFrame,
    rules: SegmentRules,
    *,
    before: dt.date,
    after: dt.date,
) -> pd.DataFrame:
    """Every current segment of `customers` (golden rows, index customer_id) with the
    age-driven ones as of `after`, given `segments` (SEGMENT_COLUMNS) as of `before`."""
    kept = segments.loc[
        segments["customer_id"].isin(customers.index)
        & ~segments["segment_type"].isin(AGE_DRIVEN_SEGMENTS),
        list(SEGMENT_COLUMNS),
    ]
    if customers.empty:
        return kept.reset_index(drop=True)
    config = rules.campaigns
    lists = (config.wealth_products, config.fund_sip, config.bond_funds, config.bancassurance)
    prefixes = tuple(dict.fromkeys(p for rule in lists for p in rule.product_prefixes))
    profile = build_profile(
        customers,
        empty_activity(prefixes),
        as_of=after,
        previous_aum=pd.Series(dtype=float),
    )
    stored = segments.pivot_table(
        index="customer_id",
        columns="segment_type",
        values="segment_value",
        aggfunc="first",
    ).reindex(index=customers.index, columns=list(AGE_DRIVEN_SEGMENTS))
    ids = customers.index.to_numpy(dtype=object)
    parts = [kept]
    # campaign lists: one bought onto stays; one joined by age follows the age now (a customer
    # off a list who was not excluded bought none of its products, or would be on it)
    by_age = campaigns(profile, rules, pd.Series(dtype=object))
    version = rules.campaigns.version("campaigns")
    for name in AGE_BAND_LISTS:
        held = stored[f"campaign_{name}"].to_numpy(dtype=object)
        reasons = np.where(held == "bought_product", "bought_product", by_age[name])
        parts.append(_list_rows(ids, f"campaign_{name}", reasons, version))
    in_band = _campaign(profile, rules.campaigns.fund_sip) == "age_band"
    held = stored["campaign_fund_sip"].to_numpy(dtype=object)
    sip = np.where((held == "age_and_investing") & in_band, "age_and_investing", "")
    parts.append(_list_rows(ids, "campaign_fund_sip", sip, version))
    parts.append(_quadrants(customers, segments, profile, rules, before=before))
    return pd.concat([part for part in parts if len(part)], ignore_index=True)


def _list_rows(
    ids: np.ndarray, segment_type: str, reasons: np.ndarray, version: str
) -> pd.DataFrame:
    on = reasons.astype(str) != ""
    count = int(on.sum())
    return pd.DataFrame(
        {
            "customer_id": ids[on],
            "segment_type": segment_type,
            "segment_value": reasons[on].astype(object),
            "score": np.full(count, np.nan),
            "rule_version": version,
            "next_contact_due": np.full(count, None, dtype=object),
        }
    )


def _quadrants(
    customers: pd.DataFrame,
    segments: pd.DataFrame,
    profile: pd.DataFrame,
    rules: SegmentRules,
    *,
    before: dt.date,
) -> pd.DataFrame:
    """The value quadrant with the prime-age point moved: the stored score is the potential's
    points as of `before`; the other points (occupation, purchases) do not move with the date."""
    config = rules.quadrant
    stored = segments.loc[segments["segment_type"] == "value_quadrant"].set_index("customer_id")
    stored = stored.reindex(customers.index).dropna(subset=["segment_value"])
    if stored.empty:
        return stored.reset_index()[list(SEGMENT_COLUMNS)]
    known = customers.loc[stored.index]
    then = ages(known["birth_date"], known["birth_year"], before)
    now = profile.loc[stored.index, "age"].to_numpy(dtype=float)

    def prime(age: np.ndarray) -> np.ndarray:
        return ((age >= config.prime_age_min) & (age <= config.prime_age_max)).astype(int)

    points = stored["score"].to_numpy(dtype=float) - prime(then) + prime(now)
    values = quadrant_of(profile.loc[stored.index, "aum"].to_numpy(dtype=float), points, config)
    return pd.DataFrame(
        {
            "customer_id": stored.index.to_numpy(dtype=object),
            "segment_type": "value_quadrant",
            "segment_value": values,
            "score": points,
            "rule_version": config.version("quadrant"),
            "next_contact_due": np.full(len(stored), None, dtype=object),
        }
    )
