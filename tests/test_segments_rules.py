"""Every segment rule of SPEC §6 pinned at and around its thresholds, on hand-computed cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mdm.errors import ConfigError
from mdm.schema import GOLDEN_FIELDS
from mdm.segments.compliance import aum_alerts, compliance_tasks
from mdm.segments.config import find_segment_rules, load_segment_rules
from mdm.segments.profile import ages, build_profile, empty_activity, roll_up
from mdm.segments.rules import assign_segments

AS_OF = dt.date(2025, 6, 30)
RULES = load_segment_rules()
PREFIXES = ("SP", "TR", "TB", "TD")


def customers(*rows: dict[str, Any]) -> pd.DataFrame:
    """Golden customers C1, C2, … with every field null unless given."""
    frame = pd.DataFrame(
        [{name: row.get(name) for name in GOLDEN_FIELDS} for row in rows],
        index=pd.Index([f"C{i + 1}" for i in range(len(rows))], name="customer_id"),
        dtype=object,
    )
    return frame


def transactions(*rows: tuple[str, str, float, str]) -> pd.DataFrame:
    """(customer_id, YYYY-MM-DD, amount, product code) rows."""
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "txn_at": pd.to_datetime([r[1] for r in rows]),
            "amount_cny": [r[2] for r in rows],
            "product_code": [r[3] for r in rows],
            "product_risk": [np.nan] * len(rows),
        }
    )


def segments_of(
    frame: pd.DataFrame,
    txns: pd.DataFrame | None = None,
    *,
    previous_aum: dict[str, float] | None = None,
    previous_tier: dict[str, str] | None = None,
    rules: Any = RULES,
) -> pd.DataFrame:
    activity = (
        roll_up(txns, as_of=AS_OF, quiet_days=90, product_prefixes=PREFIXES)
        if txns is not None
        else empty_activity(PREFIXES)
    )
    profile = build_profile(
        frame, activity, as_of=AS_OF, previous_aum=pd.Series(previous_aum or {}, dtype=float)
    )
    return assign_segments(
        profile, rules, as_of=AS_OF, previous_tier=pd.Series(previous_tier or {}, dtype=object)
    )


def value(segments: pd.DataFrame, customer_id: str, segment_type: str) -> Any:
    hit = segments[
        (segments["customer_id"] == customer_id) & (segments["segment_type"] == segment_type)
    ]
    return None if hit.empty else hit["segment_value"].item()


def test_value_tier_and_contact_frequency_at_each_floor() -> None:
    aums = [2_000_000, 1_999_999.99, 500_000, 499_999.99, 200_000, 199_999.99, 50_000, 49_999.99]
    frame = customers(*({"aum_cny": a} for a in aums), {})
    segments = segments_of(frame)
    tiers = [value(segments, f"C{i}", "value_tier") for i in range(1, 10)]
    assert tiers == [
        "diamond", "platinum", "platinum", "gold", "gold", "silver", "silver", "standard",
        "standard",
    ]  # fmt: skip
    cadence = [value(segments, f"C{i}", "contact_frequency") for i in (1, 3, 5, 7, 9)]
    assert cadence == ["every_7_days", "every_14_days", "every_30_days", "every_60_days",
                       "every_90_days"]  # fmt: skip
    due = segments[segments["segment_type"] == "contact_frequency"]["next_contact_due"]
    assert set(due) == {AS_OF}  # no transaction: due on the run date


def test_next_contact_due_counts_from_the_last_transaction() -> None:
    frame = customers({"aum_cny": 2_500_000}, {"aum_cny": 2_500_000})
    txns = transactions(("C1", "2025-06-27", 100, "F1"), ("C2", "2025-06-01", 100, "F1"))
    segments = segments_of(frame, txns)
    due = segments[segments["segment_type"] == "contact_frequency"].set_index("customer_id")
    assert due.loc["C1", "next_contact_due"] == dt.date(2025, 7, 4)  # 3 days ago + 7
    assert due.loc["C2", "next_contact_due"] == AS_OF  # overdue: due now


def test_age_is_whole_years_on_the_run_date() -> None:
    born = pd.Series([dt.date(1985, 6, 30), dt.date(1985, 7, 1), None, None])
    years = pd.Series([None, None, 1965, None])
    result = ages(born, years, AS_OF)
    assert result[:3].tolist() == [40, 39, 60] and np.isnan(result[3])


@pytest.mark.parametrize(
    ("age", "wealth", "bancassurance", "sip", "bond"),
    [
        (39, None, None, "age_and_investing", None),
        (40, "age_band", "age_band", "age_and_investing", None),
        (44, "age_band", "age_band", "age_and_investing", None),
        (45, "age_band", "age_band", None, None),
        (46, "age_band", "age_band", None, "age_band"),
        (60, "age_band", "age_band", None, "age_band"),
        (61, None, None, None, "age_band"),
    ],
)
def test_campaign_age_bands(
    age: int, wealth: str | None, bancassurance: str | None, sip: str | None, bond: str | None
) -> None:
    frame = customers({"birth_date": dt.date(2025 - age, 6, 30), "marketing_consent": True})
    segments = segments_of(frame, transactions(("C1", "2025-01-10", 1000, "F1")))
    assert value(segments, "C1", "campaign_wealth_products") == wealth
    assert value(segments, "C1", "campaign_bancassurance") == bancassurance
    assert value(segments, "C1", "campaign_fund_sip") == sip
    assert value(segments, "C1", "campaign_bond_funds") == bond


def test_campaigns_from_products_and_every_exclusion() -> None:
    buyer = {"birth_date": dt.date(1995, 1, 1), "marketing_consent": True}
    frame = customers(
        buyer,
        {**buyer, "do_not_disturb": True},
        {**buyer, "list_flag": "black"},
        {**buyer, "marketing_consent": None},
        {**buyer, "marketing_consent": False},
        {**buyer, "list_flag": "red"},
    )
    txns = transactions(
        *((f"C{i}", "2025-03-01", 50_000, code) for i in range(1, 7) for code in ("SP01", "TB2"))
    )
    segments = segments_of(frame, txns)
    on_lists = segments[segments["segment_type"].str.startswith("campaign_")]
    assert sorted(on_lists["customer_id"].unique()) == ["C1", "C6"]
    assert value(segments, "C1", "campaign_wealth_products") == "bought_product"
    assert value(segments, "C1", "campaign_bond_funds") == "bought_product"
    assert value(segments, "C1", "campaign_bancassurance") is None  # no TD, aged 30

    lenient = RULES.model_copy(
        update={
            "campaigns": RULES.campaigns.model_copy(update={"require_marketing_consent": False})
        }
    )
    segments = segments_of(frame, txns, rules=lenient)
    on_lists = segments[segments["segment_type"].str.startswith("campaign_")]
    assert sorted(on_lists["customer_id"].unique()) == ["C1", "C4", "C6"]  # unknown consent ok


def test_tier_upgrade_lists_customers_whose_aum_reached_a_higher_tier() -> None:
    frame = customers(
        *({"aum_cny": a, "marketing_consent": True} for a in (500_000, 499_999.99, 600_000, 1))
    )
    previous = {"C1": "gold", "C2": "gold", "C3": "platinum"}
    segments = segments_of(frame, previous_tier=previous)
    assert value(segments, "C1", "campaign_tier_upgrade") == "now_platinum"
    assert value(segments, "C2", "campaign_tier_upgrade") is None
    assert value(segments, "C3", "campaign_tier_upgrade") is None
    assert value(segments, "C4", "campaign_tier_upgrade") is None  # new customer: no tier before


def test_rfm_scores_and_groups() -> None:
    frame = customers({}, {}, {}, {})
    many = [("C1", f"2025-0{m}-1{d}", 30_000, "F") for m in range(1, 7) for d in range(3)]
    txns = transactions(
        *many,  # 18 in the year, last 2025-06-12 (18 days), 540,000: R5 F5 M4
        ("C2", "2024-07-01", 5_000, "F"),  # 364 days ago: R2; one: F1; M1
        ("C3", "2024-06-30", 5_000, "F"),  # 365 days ago: R2, outside the 12 months: F1 M1
    )
    segments = segments_of(frame, txns).set_index(["customer_id", "segment_type"])
    assert segments.loc[("C1", "rfm"), "score"] == 554
    assert segments.loc[("C1", "rfm"), "segment_value"] == "champions"
    assert segments.loc[("C2", "rfm"), "score"] == 211
    assert segments.loc[("C2", "rfm"), "segment_value"] == "hibernating"
    assert segments.loc[("C3", "rfm"), "score"] == 211
    assert segments.loc[("C4", "rfm"), "segment_value"] == "no_transactions"
    assert np.isnan(segments.loc[("C4", "rfm"), "score"])


def test_rfm_thresholds_at_their_edges() -> None:
    frame = customers(*({} for _ in range(4)))
    txns = transactions(
        ("C1", "2025-05-31", 10_000, "F"),  # 30 days: R5; 10,000: M2
        ("C2", "2025-05-30", 9_999.99, "F"),  # 31 days: R4; M1
        *((("C3", "2025-06-01", 1, "F"),) * 2),  # two: F2
        *((("C4", "2025-06-01", 1, "F"),) * 16),  # sixteen: F5
    )
    segments = segments_of(frame, txns).set_index(["customer_id", "segment_type"])
    assert segments.loc[("C1", "rfm"), "score"] == 512
    assert segments.loc[("C2", "rfm"), "score"] == 411
    assert segments.loc[("C3", "rfm"), "score"] // 10 % 10 == 2
    assert segments.loc[("C4", "rfm"), "score"] // 10 % 10 == 5


def test_lifecycle_stages() -> None:
    frame = customers(
        {},  # a lead: no AUM, no transactions
        {"aum_cny": 10_000},  # money but no transactions
        {"aum_cny": 10_000},  # first transaction 90 days ago: new
        {"aum_cny": 10_000},  # first long ago, last 180 days ago: active
        {"aum_cny": 10_000},  # last 181 days ago: dormant
        {"aum_cny": 999.99},  # last 366 days ago, AUM below 1,000: churned
        {"aum_cny": 1_000},  # same but AUM 1,000: dormant
    )
    txns = transactions(
        ("C3", "2025-04-01", 1, "F"),
        ("C4", "2023-01-01", 1, "F"),
        ("C4", "2025-01-01", 1, "F"),
        ("C5", "2024-12-31", 1, "F"),
        ("C6", "2024-06-29", 1, "F"),
        ("C7", "2024-06-29", 1, "F"),
    )
    segments = segments_of(frame, txns)
    stages = [value(segments, f"C{i}", "lifecycle_stage") for i in range(1, 8)]
    assert stages == ["prospect", "dormant", "new", "active", "dormant", "churned", "dormant"]


def test_churn_warning_when_transactions_stop_or_aum_falls() -> None:
    frame = customers(*({"aum_cny": a} for a in (100_000, 100_000, 50_000, 50_000.01)))
    txns = transactions(
        ("C1", "2025-02-01", 1, "F"),  # two before the 90 quiet days, none since
        ("C1", "2025-01-01", 1, "F"),
        ("C2", "2025-02-01", 1, "F"),
        ("C2", "2025-06-01", 1, "F"),  # still transacting
    )
    previous = {"C3": 100_000, "C4": 100_000}
    segments = segments_of(frame, txns, previous_aum=previous)
    warnings = [value(segments, f"C{i}", "churn_warning") for i in range(1, 5)]
    assert warnings == ["stopped_transacting", "none", "aum_falling", "none"]


def test_quadrant_from_value_and_potential() -> None:
    young = dt.date(1990, 1, 1)  # 35: a prime earning age
    frame = customers(
        {"aum_cny": 500_000, "birth_date": young, "occupation": "医生"},
        {"aum_cny": 499_999.99, "birth_date": young, "employer": "某某律师事务所"},
        {"aum_cny": 800_000, "birth_date": young},
        {"aum_cny": 10_000, "birth_date": dt.date(1950, 1, 1)},
        {"aum_cny": 10_000, "birth_date": young},
    )
    # C5: one point for age, one for buying more than its AUM here (money kept elsewhere)
    txns = transactions(("C5", "2025-01-01", 20_000, "F"))
    segments = segments_of(frame, txns)
    quadrants = [value(segments, f"C{i}", "value_quadrant") for i in range(1, 6)]
    assert quadrants == ["core", "growth", "stable", "basic", "growth"]


def test_risk_profile_names() -> None:
    frame = customers({"risk_level": "C1"}, {"risk_level": "C5"}, {})
    segments = segments_of(frame)
    assert [value(segments, f"C{i}", "risk_profile") for i in (1, 2, 3)] == [
        "conservative",
        "aggressive",
        "unassessed",
    ]


def test_compliance_tasks_for_product_risk_and_expired_assessment() -> None:
    frame = customers(
        {"risk_level": "C3", "product_risk_max": "R4", "risk_assessed_on": dt.date(2025, 1, 1)},
        {"risk_level": "C3", "product_risk_max": "R3", "risk_assessed_on": dt.date(2024, 6, 30)},
        {"risk_level": "C3", "risk_assessed_on": dt.date(2024, 6, 29)},
        {"product_risk_max": "R5"},  # no assessment at all: the incomplete task covers it
    )
    profile = build_profile(
        frame, empty_activity(PREFIXES), as_of=AS_OF, previous_aum=pd.Series(dtype=float)
    )
    tasks = compliance_tasks(profile, frame, RULES, as_of=AS_OF)
    found = sorted((t["customer_id"], t["details"]["rule"]) for t in tasks)
    # C2: day 365 is still valid; C3: day 366 is expired
    assert found == [("C1", "product_above_risk_level"), ("C3", "risk_assessment_expired")]
    assert all(t["task_type"] == "compliance" for t in tasks)
    by_customer = {t["customer_id"]: t for t in tasks}
    assert by_customer["C1"]["task_key"] == "compliance:C1:product_above_risk_level:R4>C3"
    assert by_customer["C3"]["details"]["age_days"] == 366


def test_a_transaction_of_a_riskier_product_opens_a_compliance_task() -> None:
    frame = customers({"risk_level": "C2", "risk_assessed_on": dt.date(2025, 1, 1)})
    txns = transactions(("C1", "2025-06-01", 1, "X")).assign(product_risk=[3.0])
    activity = roll_up(txns, as_of=AS_OF, quiet_days=90, product_prefixes=PREFIXES)
    profile = build_profile(frame, activity, as_of=AS_OF, previous_aum=pd.Series(dtype=float))
    tasks = compliance_tasks(profile, frame, RULES, as_of=AS_OF)
    assert [t["details"]["product_risk_max"] for t in tasks] == ["R3"]


def test_aum_alert_above_two_hundred_thousand_on_diamond_and_platinum() -> None:
    frame = customers(
        *(
            {"aum_cny": a, "relationship_manager": "李经理"}
            for a in (2_200_000.00, 2_200_000.01, 700_000.01, 450_000.01, 3_000_000)
        )
    )
    previous = {"C1": 2_000_000, "C2": 2_000_000, "C3": 500_000, "C4": 200_000}
    profile = build_profile(
        frame, empty_activity(PREFIXES), as_of=AS_OF, previous_aum=pd.Series(previous)
    )
    alerts = aum_alerts(profile, frame, RULES)
    # C1 moved exactly 200,000.00 (not more); C4 is gold; C5 is new (nothing to compare)
    assert [(a["customer_id"], a["details"]["change_cny"]) for a in alerts] == [
        ("C2", 200_000.01),
        ("C3", 200_000.01),
    ]
    assert alerts[0]["relationship_manager"] == "李经理"


def test_rule_versions_follow_their_own_family_only() -> None:
    changed = load_segment_rules().model_copy(
        update={"rfm": RULES.rfm.model_copy(update={"recency_days": (10, 90, 180, 365)})}
    )
    assert changed.rfm.version("rfm") != RULES.rfm.version("rfm")
    assert changed.value_tier.version("value_tier") == RULES.value_tier.version("value_tier")


def test_a_user_file_overrides_one_section(tmp_path: Path) -> None:
    (tmp_path / "segments.yaml").write_text(
        "value_tier:\n  tiers:\n"
        "    - {name: vip, min_aum_cny: 1000000, contact_every_days: 10}\n"
        "    - {name: mass, min_aum_cny: 0, contact_every_days: 120}\n"
        "aum_alert: {more_than_cny: 100000, tiers: [vip]}\n",
        encoding="utf-8",
    )
    rules = find_segment_rules(tmp_path, None)
    assert rules.value_tier.names == ["vip", "mass"]
    assert rules.rfm == RULES.rfm
    assert find_segment_rules(tmp_path / "elsewhere", None) == RULES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("value_tier: {tiers: []}", "value_tier.tiers: Tuple should have at least 1 item"),
        (
            "value_tier:\n  tiers:\n    - {name: a, min_aum_cny: 0, contact_every_days: 7}\n"
            "    - {name: b, min_aum_cny: 10, contact_every_days: 7}\n",
            "value_tier: tiers must be listed highest min_aum_cny first",
        ),
        ("rfm_groups: {}", "unknown section 'rfm_groups'"),
        ("aum_alert: {more_than_cny: -1, tiers: []}", "aum_alert.more_than_cny"),
        ("aum_alert: {more_than_cny: 1, tiers: [gold, vip]}", "'vip' is not a value tier"),
        ("risk_profile: {names: {C1: a}, assessment_valid_days: 365}", "exactly C1, C2"),
        ("value_tier: [", "not valid YAML"),
    ],
)
def test_a_wrong_rule_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "segments.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_segment_rules(path)
    assert message in str(error.value)
    assert str(error.value).startswith(str(path))
    assert "\n" not in str(error.value)
