"""Survivorship rules, lineage and conflicts, each pinned on a cluster built to test it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from helpers.matching_data import (
    CHEN_LI,
    R_CHEN,
    R_LI,
    WANG_PARTIAL,
    WANG_WEI,
    ZHANG_WEI,
    masked,
    record,
)

from mdm.matching.survive import DEFAULT_RULES, FieldRule, find_conflicts, survive
from mdm.schema import GOLDEN_FIELDS


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).set_index("record_key")


def one_cluster(records: pd.DataFrame, label: str = "c") -> pd.Series:
    return pd.Series(label, index=records.index)


def wang() -> pd.DataFrame:
    """One person in four sources, each field's winner decided by a different rule."""
    return frame(
        record(
            "fund",
            "1",
            "w",
            WANG_PARTIAL,
            full_name="王先生",
            id_number=R_CHEN[:-1] + "0",
            id_valid=False,
            updated="2024-06-01",
            mobile="+8613911428803",
            risk_level="C4",
            risk_assessed_on=dt.date(2024, 5, 1),
            aum_cny=300.0,
            trust=95,
        ),
        record(
            "branch",
            "1",
            "w",
            WANG_WEI,
            id_number=R_CHEN,
            updated="2023-01-01",
            mobile="+8615077213356",
            risk_level="C2",
            risk_assessed_on=dt.date(2022, 1, 1),
            aum_cny=100.0,
            address="北京市东城区1号",
        ),
        record(
            "app",
            "1",
            "w",
            WANG_WEI,
            id_number=masked(R_CHEN),
            updated="2025-01-01",
            mobile="+8618630571249",
            email="w@example.com",
            address="北京市朝阳区2号",
        ),
        record("callcenter", "1", "w", WANG_WEI, updated="2025-01-01", mobile="+8613527760418"),
    )


def test_each_field_survives_by_its_rule() -> None:
    records = wang()
    golden, lineage = survive(records, one_cluster(records))
    row, source = golden.loc["c"], lineage.loc["c"]
    # id_number: the valid id, although the fund is trusted more and the app is newer.
    assert row["id_number"] == R_CHEN and source["id_number"] == "branch:1"
    assert source["id_type"] == "branch:1"  # follows id_number
    # mobile: the newest record (app and call center tie on time; the app is trusted more).
    assert row["mobile"] == "+8618630571249" and source["mobile"] == "app:1"
    assert row["address"] == "北京市朝阳区2号"  # newest that has one
    # risk: the latest assessment wins over trust, and its date comes with it.
    assert row["risk_level"] == "C4" and row["risk_assessed_on"] == dt.date(2024, 5, 1)
    assert source["risk_assessed_on"] == source["risk_level"] == "fund:1"
    # full_name: never the 王先生 of the more trusted fund record.
    assert row["full_name"] == "王伟" and source["full_name"] == "branch:1"
    # everything else: the most trusted source holding a value.
    assert row["aum_cny"] == 300.0 and source["aum_cny"] == "fund:1"
    assert row["email"] == "w@example.com"
    assert list(golden.columns) == list(GOLDEN_FIELDS)


def test_without_a_valid_id_an_unmasked_one_beats_a_masked_one() -> None:
    records = wang().drop(index="branch:1")
    golden, _ = survive(records, one_cluster(records))
    assert golden.loc["c", "id_number"] == R_CHEN[:-1] + "0"


def test_a_field_no_source_holds_is_missing_with_no_lineage() -> None:
    records = wang()
    golden, lineage = survive(records, one_cluster(records))
    assert pd.isna(golden.loc["c", "occupation"])
    assert lineage.loc["c", "occupation"] is None


def test_a_record_without_an_update_time_is_never_the_newest() -> None:
    records = frame(
        record("branch", "1", "x", CHEN_LI, mobile="+8613911428803", updated="2020-01-01"),
        {**record("app", "1", "x", CHEN_LI, mobile="+8615077213356"), "source_updated_at": None},
    )
    _, lineage = survive(records, one_cluster(records))
    assert lineage.loc["c", "mobile"] == "branch:1"


def test_rules_are_configurable() -> None:
    records = wang()
    rules = {**DEFAULT_RULES, "mobile": FieldRule(("trust",))}
    _, lineage = survive(records, one_cluster(records), rules)
    assert lineage.loc["c", "mobile"] == "fund:1"  # by recency it is app:1


def test_ties_fall_to_completeness_then_to_the_smaller_record_key() -> None:
    records = frame(
        record("branch", "2", "x", CHEN_LI, mobile="+8613911428803"),
        record("branch", "1", "x", CHEN_LI, mobile="+8615077213356", email="c@example.com"),
        record("branch", "3", "x", CHEN_LI, mobile="+8618630571249", email="d@example.com"),
    )
    _, lineage = survive(records, one_cluster(records))
    assert lineage.loc["c", "mobile"] == "branch:1"


def test_each_cluster_gets_its_own_golden_record() -> None:
    records = pd.concat([wang(), frame(record("branch", "9", "z", ZHANG_WEI, aum_cny=5.0))])
    clusters = pd.Series(["w"] * 4 + ["z"], index=records.index)
    golden, _ = survive(records, clusters)
    assert golden.index.tolist() == ["w", "z"]
    assert golden.loc["z", "aum_cny"] == 5.0 and golden.loc["w", "aum_cny"] == 300.0


def fields_in_conflict(records: pd.DataFrame) -> dict[str, list[Any]]:
    return {
        c["field"]: sorted(str(v["value"]) for v in c["values"])
        for c in find_conflicts(records, one_cluster(records))
    }


def test_conflicts_on_id_birth_date_gender_and_name() -> None:
    records = frame(
        record(
            "branch",
            "1",
            "x",
            ZHANG_WEI,
            id_number=R_CHEN,
            birth_date=dt.date(1980, 1, 2),
            gender="M",
        ),
        record(
            "fund",
            "1",
            "x",
            ("张玮", "zhang wei", "wei zhang", False),
            id_number=R_LI,
            birth_date=dt.date(1980, 2, 1),
            gender="F",
        ),
    )
    found = fields_in_conflict(records)
    assert found == {
        "id_number": sorted([R_CHEN, R_LI]),
        "birth_date": ["1980-01-02", "1980-02-01"],
        "gender": ["F", "M"],
        "full_name": ["张伟", "张玮"],
    }
    first = find_conflicts(records, one_cluster(records))[0]
    assert first["cluster"] == "c"
    assert {v["source_system"] for v in first["values"]} == {"branch", "fund"}


def test_no_conflict_from_masked_or_invalid_ids_unknown_gender_or_compatible_names() -> None:
    records = frame(
        record("branch", "1", "x", CHEN_LI, id_number=R_CHEN, gender="F"),
        record("app", "1", "x", CHEN_LI, id_number=masked(R_LI), gender="U"),
        record("fund", "1", "x", CHEN_LI, id_number=R_LI[:-1] + "0", id_valid=False),
        record("thirdparty", "1", "x", ("li chen", "chen li", "chen li", False)),
        record("callcenter", "1", "x", ("陈", "chen", "chen", True), full_name="陈女士"),
    )
    assert fields_in_conflict(records) == {}


def test_a_pinyin_name_that_reads_differently_is_a_conflict() -> None:
    records = frame(
        record("branch", "1", "x", CHEN_LI),
        record("thirdparty", "1", "x", ("na li", "li na", "li na", False), full_name="NA LI"),
    )
    assert fields_in_conflict(records) == {"full_name": ["NA LI", "陈丽"]}
