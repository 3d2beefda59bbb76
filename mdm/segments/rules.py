"""Segment rules of SPEC §6, each a vectorized function of the profile (profile.py).

Each family returns a frame indexed like the profile with `segment_value` and `score` (and
`next_contact_due` for contact frequency); `assign_segments` stacks them into the long
customer_segment shape with the rule version of each family.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from mdm.segments.config import (
    CampaignRule,
    LifecycleRules,
    QuadrantRules,
    RfmRules,
    RiskProfileRules,
    SegmentRules,
    ValueTierRules,
)
from mdm.segments.profile import product_prefix_column

SEGMENT_COLUMNS = (
    "customer_id",
    "segment_type",
    "segment_value",
    "score",
    "rule_version",
    "next_contact_due",
)
CAMPAIGNS = ("wealth_products", "fund_sip", "bond_funds", "bancassurance", "tier_upgrade")


def _frame(profile: pd.DataFrame, values: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    # object dtype on purpose: pandas would otherwise copy every value into an Arrow string
    # column and back, the slowest part of enrichment at a million customers
    return pd.DataFrame(
        {
            "segment_value": pd.Series(values, index=profile.index, dtype=object),
            "score": score.astype(float),
        },
        index=profile.index,
    )


def tier_rank(aum: np.ndarray, rules: ValueTierRules) -> np.ndarray:
    """0 for the highest tier … len-1 for the lowest: the first floor the AUM reaches."""
    floors = np.array([tier.min_aum_cny for tier in rules.tiers])
    # floors descend, so the count of floors above the AUM is the index of its tier
    return (aum[:, None] < floors[None, :]).sum(axis=1)


def value_tier(profile: pd.DataFrame, rules: ValueTierRules) -> pd.DataFrame:
    """Tier by AUM (score = AUM in yuan); no known AUM counts as zero."""
    aum = profile["aum"].to_numpy(dtype=float)
    names = np.array(rules.names, dtype=object)
    return _frame(profile, names[tier_rank(aum, rules)], aum)


def contact_frequency(profile: pd.DataFrame, rules: ValueTierRules, as_of: dt.date) -> pd.DataFrame:
    """Cadence of the customer's tier (score = days). The relationship manager's own contacts
    are not in our data, so the last transaction stands in for the last contact: due a cadence
    after it, and on the run date when that is already past or there is none."""
    days = np.array([tier.contact_every_days for tier in rules.tiers])
    names = np.array([f"every_{d}_days" for d in days], dtype=object)
    rank = tier_rank(profile["aum"].to_numpy(dtype=float), rules)
    cadence = days[rank]
    frame = _frame(profile, names[rank], cadence)
    since_last = profile["last_txn_days"].to_numpy(dtype=float)
    wait = np.where(np.isnan(since_last), 0, np.maximum(cadence - since_last, 0))
    due = np.datetime64(as_of, "D") + wait.astype("timedelta64[D]")
    frame["next_contact_due"] = pd.Series(due, index=profile.index).dt.date
    return frame


def potential_points(profile: pd.DataFrame, rules: QuadrantRules) -> np.ndarray:
    """Growth potential, 0-4: one point each for a prime earning age, a high-income occupation
    or employer, rising purchases (last 6 months above the 6 before), and money that flows
    through us but is kept elsewhere (12-month purchases ≥ inflow_share_min × AUM here)."""
    age = profile["age"].to_numpy(dtype=float)
    prime = (age >= rules.prime_age_min) & (age <= rules.prime_age_max)
    # few distinct occupations: test each once, then spread the answer to the customers
    codes, distinct = pd.factorize(profile["work"])
    hit = np.array(
        [any(word in str(text) for word in rules.growth_occupations) for text in distinct],
        dtype=bool,
    )
    occupation = np.append(hit, False)[codes]  # code -1 (missing) takes the appended False
    recent = profile["amount_recent_half"].to_numpy(dtype=float)
    rising = recent > profile["amount_earlier_half"].to_numpy(dtype=float)
    inflow = profile["txn_amount_12m_cny"].to_numpy(dtype=float)
    elsewhere = (inflow > 0) & (inflow >= rules.inflow_share_min * profile["aum"].to_numpy())
    return prime.astype(int) + occupation.astype(int) + rising.astype(int) + elsewhere.astype(int)


def value_quadrant(profile: pd.DataFrame, rules: QuadrantRules) -> pd.DataFrame:
    """core (high value, high potential), growth (low/high), stable (high/low), basic (low/low);
    score = potential points."""
    points = potential_points(profile, rules)
    values = quadrant_of(profile["aum"].to_numpy(dtype=float), points, rules)
    return _frame(profile, values, points)


def quadrant_of(aum: np.ndarray, points: np.ndarray, rules: QuadrantRules) -> np.ndarray:
    """The quadrant of each customer's AUM and potential points (the calendar refresh moves
    the points by the prime-age point and asks again)."""
    high_value = aum >= rules.high_value_min_aum_cny
    high_potential = points >= rules.high_potential_min_points
    return np.select(
        [high_value & high_potential, high_potential, high_value],
        ["core", "growth", "stable"],
        default="basic",
    ).astype(object)


def rfm_scores(profile: pd.DataFrame, rules: RfmRules) -> tuple[np.ndarray, ...]:
    """Recency, frequency, monetary, each 1-5; recency falls as days grow."""
    days = profile["last_txn_days"].to_numpy(dtype=float)
    recency = 5 - np.searchsorted(np.array(rules.recency_days), days, side="left")
    recency = np.where(np.isnan(days), 1, recency)
    count = profile["txn_count_12m"].to_numpy(dtype=float)
    frequency = 1 + np.searchsorted(np.array(rules.frequency_counts), count, side="right")
    amount = profile["txn_amount_12m_cny"].to_numpy(dtype=float)
    monetary = 1 + np.searchsorted(np.array(rules.monetary_cny), amount, side="right")
    return recency, frequency, monetary


def rfm(profile: pd.DataFrame, rules: RfmRules) -> pd.DataFrame:
    """Named group of the first matching rule (else `others`); score = 100·R + 10·F + M.
    A customer who never transacted is `no_transactions` with no score."""
    recency, frequency, monetary = rfm_scores(profile, rules)
    conditions = [
        (recency >= g.recency_min)
        & (recency <= g.recency_max)
        & (frequency >= g.frequency_min)
        & (frequency <= g.frequency_max)
        & (monetary >= g.monetary_min)
        & (monetary <= g.monetary_max)
        for g in rules.groups
    ]
    names = [g.name for g in rules.groups]
    values = np.select(conditions, names, default="others").astype(object)
    has_txn = profile["has_txn"].to_numpy(dtype=bool)
    values = np.where(has_txn, values, "no_transactions").astype(object)
    score = np.where(has_txn, 100 * recency + 10 * frequency + monetary, np.nan)
    return _frame(profile, values, score)


def risk_profile(profile: pd.DataFrame, rules: RiskProfileRules) -> pd.DataFrame:
    """C1 conservative … C5 aggressive (score = the level); no assessment: `unassessed`."""
    level = profile["risk_level"].to_numpy(dtype=float)
    names = np.array(["unassessed", *(rules.names[f"C{n}"] for n in range(1, 6))], dtype=object)
    return _frame(profile, names[np.nan_to_num(level, nan=0).astype(int)], level)


def lifecycle_stage(profile: pd.DataFrame, rules: LifecycleRules) -> pd.DataFrame:
    """prospect (no AUM, never transacted: a lead), new, active, churned, else dormant;
    score = days since the last transaction."""
    last = profile["last_txn_days"].to_numpy(dtype=float)
    first = profile["first_txn_days"].to_numpy(dtype=float)
    aum = profile["aum"].to_numpy(dtype=float)
    has_txn = ~np.isnan(last)
    values = np.select(
        [
            ~has_txn & (aum <= 0),
            has_txn & (first <= rules.new_within_days),
            has_txn & (last <= rules.active_within_days),
            has_txn & (last > rules.churned_after_days) & (aum < rules.churned_aum_below_cny),
        ],
        ["prospect", "new", "active", "churned"],
        default="dormant",
    ).astype(object)
    return _frame(profile, values, last)


def churn_warning(profile: pd.DataFrame, rules: LifecycleRules) -> pd.DataFrame:
    """`aum_falling` (AUM down by aum_drop_share since the last run), `stopped_transacting`
    (quiet for quiet_days after earlier_min_count transactions in the year before), or `none`;
    score = the share of AUM lost."""
    warn = rules.churn_warning
    previous = profile["previous_aum"].to_numpy(dtype=float)
    aum = profile["aum"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lost = np.where(previous > 0, (previous - aum) / previous, 0.0)
    stopped = (profile["txn_count_quiet"].to_numpy() == 0) & (
        profile["txn_count_before_quiet"].to_numpy() >= warn.earlier_min_count
    )
    values = np.select(
        [lost >= warn.aum_drop_share, stopped], ["aum_falling", "stopped_transacting"], "none"
    ).astype(object)
    return _frame(profile, values, np.round(lost, 4))


def _campaign(profile: pd.DataFrame, rule: CampaignRule) -> np.ndarray:
    """Reason codes: `bought_product` or `age_band`; empty string when not eligible."""
    n = len(profile)
    bought = np.zeros(n, dtype=bool)
    for prefix in rule.product_prefixes:
        bought |= profile[product_prefix_column(prefix)].to_numpy(dtype=bool)
    age = profile["age"].to_numpy(dtype=float)
    in_band = np.ones(n, dtype=bool)
    has_age_rule = False
    if rule.age_min is not None:
        in_band &= age >= rule.age_min
        has_age_rule = True
    if rule.age_max is not None:
        in_band &= age <= rule.age_max
        has_age_rule = True
    if rule.age_below is not None:
        in_band &= age < rule.age_below
        has_age_rule = True
    if rule.age_above is not None:
        in_band &= age > rule.age_above
        has_age_rule = True
    in_band &= has_age_rule
    return np.select([bought, in_band], ["bought_product", "age_band"], "").astype(object)


def campaigns(
    profile: pd.DataFrame, rules: SegmentRules, previous_tier: pd.Series
) -> dict[str, np.ndarray]:
    """Eligibility per campaign as reason codes ('' = not on the list). Do-not-disturb,
    black-listed and (by default) customers without marketing consent are on no list."""
    config = rules.campaigns
    lists = {
        "wealth_products": _campaign(profile, config.wealth_products),
        "bond_funds": _campaign(profile, config.bond_funds),
        "bancassurance": _campaign(profile, config.bancassurance),
    }
    sip = _campaign(profile, config.fund_sip)
    lists["fund_sip"] = np.where(
        (sip == "age_band") & profile["has_txn"].to_numpy(dtype=bool), "age_and_investing", ""
    ).astype(object)
    # Tier upgrade: the AUM now reaches a higher tier than the one the warehouse held.
    tiers = rules.value_tier
    rank_now = tier_rank(profile["aum"].to_numpy(dtype=float), tiers)
    rank_of = {name: rank for rank, name in enumerate(tiers.names)}
    rank_before = previous_tier.reindex(profile.index).map(rank_of).to_numpy(dtype=float)
    upgraded_to = np.array([f"now_{name}" for name in tiers.names], dtype=object)
    lists["tier_upgrade"] = np.where(rank_now < rank_before, upgraded_to[rank_now], "").astype(
        object
    )
    excluded = profile["do_not_disturb"].to_numpy(dtype=bool) | profile["black_listed"].to_numpy(
        dtype=bool
    )
    if config.require_marketing_consent:
        excluded |= ~profile["consent"].to_numpy(dtype=bool)
    else:
        excluded |= profile["refused"].to_numpy(dtype=bool)
    return {name: np.where(excluded, "", lists[name]).astype(object) for name in CAMPAIGNS}


def assign_segments(
    profile: pd.DataFrame,
    rules: SegmentRules,
    *,
    as_of: dt.date,
    previous_tier: pd.Series,
) -> pd.DataFrame:
    """Every segment of every customer, long: one row per customer × segment type, and one per
    campaign list the customer is on."""
    families: list[tuple[str, str, pd.DataFrame]] = [
        ("value_tier", "value_tier", value_tier(profile, rules.value_tier)),
        ("contact_frequency", "value_tier", contact_frequency(profile, rules.value_tier, as_of)),
        ("value_quadrant", "quadrant", value_quadrant(profile, rules.quadrant)),
        ("rfm", "rfm", rfm(profile, rules.rfm)),
        ("risk_profile", "risk_profile", risk_profile(profile, rules.risk_profile)),
        ("lifecycle_stage", "lifecycle", lifecycle_stage(profile, rules.lifecycle)),
        ("churn_warning", "lifecycle", churn_warning(profile, rules.lifecycle)),
    ]
    ids = profile.index.to_numpy(dtype=object)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in SEGMENT_COLUMNS}

    def add(
        segment_type: str,
        family: str,
        members: np.ndarray,
        values: np.ndarray,
        score: np.ndarray,
        due: np.ndarray,
    ) -> None:
        n = len(members)
        columns["customer_id"].append(members)
        columns["segment_type"].append(np.full(n, segment_type, dtype=object))
        columns["segment_value"].append(values.astype(object))
        columns["score"].append(score.astype(float))
        columns["rule_version"].append(
            np.full(n, getattr(rules, family).version(family), dtype=object)
        )
        columns["next_contact_due"].append(due)

    none = np.full(len(ids), None, dtype=object)
    for segment_type, family, frame in families:
        due = (
            frame["next_contact_due"].to_numpy(dtype=object)
            if "next_contact_due" in frame
            else none
        )
        add(
            segment_type,
            family,
            ids,
            frame["segment_value"].to_numpy(dtype=object),
            frame["score"].to_numpy(dtype=float),
            due,
        )
    for name, reasons in campaigns(profile, rules, previous_tier).items():
        on_list = reasons != ""
        # the upgrade list follows the tier floors; the others follow the campaign rules
        family = "value_tier" if name == "tier_upgrade" else "campaigns"
        n = int(on_list.sum())
        add(
            f"campaign_{name}", family, ids[on_list], reasons[on_list], np.full(n, np.nan), none[:n]
        )
    return pd.DataFrame(
        {
            name: pd.Series(np.concatenate(parts), dtype=float if name == "score" else object)
            for name, parts in columns.items()
        }
    )


def segment_sizes(segments: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Customers per segment value, by segment type (campaign lists included): counts only."""
    counted = segments.groupby(["segment_type", "segment_value"], observed=True).size()
    sizes: dict[str, dict[str, int]] = {}
    for (segment_type, value), n in counted.items():
        sizes.setdefault(str(segment_type), {})[str(value)] = int(n)
    return sizes
