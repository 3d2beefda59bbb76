"""Dates, amounts and coded fields (mdm.standardize.dates, .amounts, .codes)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdm.standardize.amounts import parse_amount, parse_count, unit_factor
from mdm.standardize.codes import (
    parse_bool,
    parse_gender,
    parse_id_type,
    parse_list_flag,
    parse_product_risk,
    parse_risk_level,
)
from mdm.standardize.dates import (
    parse_birth_year,
    parse_date,
    parse_datetime,
    parse_year_only,
)

APRIL_2 = dt.date(2024, 4, 2)


@pytest.mark.parametrize(
    "raw",
    [
        "20240402",
        "2024-04-02",
        "2024-4-2",
        "2024/4/2",
        "2024/04/02",
        "2024.4.2",
        "2024年4月2日",  # fund platform
        "2024年04月02日",
        "２０２４年４月２日",  # full-width digits
        " 2024-04-02 ",
        "2024-04-02 13:45:00",
        "2024-04-02T13:45:00",
        "2024-04-02T10:00:00+08:00",
        "2024-04-02T01:00:00Z",  # 09:00 in China
        45384,  # Excel serial
        45384.75,
        "45384",
        np.int64(45384),
        20240402,  # YYYYMMDD typed as a number
        dt.date(2024, 4, 2),
        dt.datetime(2024, 4, 2, 23, 59),
        pd.Timestamp("2024-04-02 08:00"),
    ],
)
def test_parse_date_variants(raw: object) -> None:
    assert parse_date(raw) == APRIL_2


@pytest.mark.parametrize(
    "raw",
    [
        "不详",
        "2024-02-30",  # impossible
        "2024-13-01",
        "20240230",
        "1985",  # a year is not a date (see parse_year_only)
        "04/02/2024",  # ambiguous without a channel format
        "abc",
        "",
        None,
        math.nan,
        pd.NaT,
        True,
        0,
        90000,  # beyond any plausible spreadsheet date
    ],
)
def test_parse_date_rejects(raw: object) -> None:
    assert parse_date(raw) is None


def test_parse_date_offset_moves_to_the_china_day() -> None:
    assert parse_date("2024-04-02T23:30:00Z") == dt.date(2024, 4, 3)


@pytest.mark.parametrize(
    ("raw", "fmt", "date"),
    [
        ("04/02/2024", "%m/%d/%Y", APRIL_2),
        ("02/04/2024", "%d/%m/%Y", APRIL_2),
        ("2024-04-02", "%m/%d/%Y", APRIL_2),  # unambiguous forms still parse
        ("13/13/2024", "%m/%d/%Y", None),
    ],
)
def test_parse_date_channel_format_wins(raw: str, fmt: str, date: dt.date | None) -> None:
    assert parse_date(raw, fmt) == date


@pytest.mark.parametrize(
    ("raw", "moment"),
    [
        ("2024-04-02 10:30:15", dt.datetime(2024, 4, 2, 10, 30, 15)),
        ("2024-04-02T10:30:15.250", dt.datetime(2024, 4, 2, 10, 30, 15, 250000)),
        ("2024-04-02T02:30:15Z", dt.datetime(2024, 4, 2, 10, 30, 15)),  # to China time
        ("2024-04-02T10:30:15+08:00", dt.datetime(2024, 4, 2, 10, 30, 15)),
        ("2024-04-01T22:30:15-04:00", dt.datetime(2024, 4, 2, 10, 30, 15)),
        ("2024/4/2 10:30", dt.datetime(2024, 4, 2, 10, 30)),
        ("2024年4月2日 10时30分", dt.datetime(2024, 4, 2, 10, 30)),
        ("2024年4月2日10时30分15秒", dt.datetime(2024, 4, 2, 10, 30, 15)),
        ("20240402103015", dt.datetime(2024, 4, 2, 10, 30, 15)),
        ("2024-04-02", dt.datetime(2024, 4, 2)),
        (45384.4375, dt.datetime(2024, 4, 2, 10, 30)),  # Excel serial with a time
        (1712025015, dt.datetime(2024, 4, 2, 10, 30, 15)),  # epoch seconds
        ("1712025015000", dt.datetime(2024, 4, 2, 10, 30, 15)),  # epoch milliseconds
        (pd.Timestamp("2024-04-02 02:30:15", tz="UTC"), dt.datetime(2024, 4, 2, 10, 30, 15)),
        (dt.date(2024, 4, 2), dt.datetime(2024, 4, 2)),
        ("2024-04-02 25:00:00", None),
        ("yesterday", None),
        (None, None),
        (pd.NaT, None),
    ],
)
def test_parse_datetime(raw: object, moment: dt.datetime | None) -> None:
    parsed = parse_datetime(raw)
    assert parsed == moment
    assert parsed is None or parsed.tzinfo is None


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("1985", 1985),
        ("1985年", 1985),
        (" １９８５ ", 1985),
        (1985, 1985),
        (1985.0, 1985),
        ("1985-06-01", None),
        ("85", None),
        ("1850", None),
        (1985.5, None),
        (None, None),
    ],
)
def test_parse_year_only(raw: object, year: int | None) -> None:
    assert parse_year_only(raw) == year


@pytest.mark.parametrize(
    ("raw", "year"),
    [("1985", 1985), ("1985年", 1985), ("1985-06-01", 1985), ("1985年6月1日", 1985), ("?", None)],
)
def test_parse_birth_year(raw: object, year: int | None) -> None:
    assert parse_birth_year(raw) == year


@pytest.mark.parametrize(
    ("raw", "unit", "amount"),
    [
        ("1,234,567.89", "yuan", 1234567.89),
        ("１，２３４，５６７．８９", "yuan", 1234567.89),  # full-width digits and comma
        ("¥1,234.00", "yuan", 1234.0),
        ("￥1,234.00元", "yuan", 1234.0),
        ("RMB 100", "yuan", 100.0),
        ("12.5万", "yuan", 125000.0),
        ("12.5万元", "yuan", 125000.0),
        ("1.23万", "yuan", 12300.0),  # exact, not 12300.000000000002
        ("1.2亿", "yuan", 120000000.0),
        ("3亿元", "yuan", 300000000.0),
        ("-1,234.5", "yuan", -1234.5),
        ("(1,234.00)", "yuan", -1234.0),  # accounting negative
        ("12.5", "wan", 125000.0),  # fund platform: the channel says 万元
        ("12.5万", "wan", 125000.0),  # a unit in the value wins over the channel unit
        ("125000元", "wan", 125000.0),
        ("1.5", "yi", 150000000.0),
        (1234.5, "yuan", 1234.5),
        (12.5, "wan", 125000.0),
        (np.float64(1.1), "wan", 11000.0),
        (7, "yuan", 7.0),
        ("$100", "yuan", None),  # not yuan
        ("abc", "yuan", None),
        ("12..5", "yuan", None),
        ("NaN", "yuan", None),
        ("Infinity", "yuan", None),
        (math.nan, "yuan", None),
        (True, "yuan", None),
        ("", "yuan", None),
        (None, "yuan", None),
    ],
)
def test_parse_amount(raw: object, unit: str, amount: float | None) -> None:
    assert parse_amount(raw, unit) == amount


def test_amount_units_are_exact() -> None:
    assert parse_amount("0.07", "wan") == float(Decimal("0.07") * 10_000)


@pytest.mark.parametrize(("unit", "factor"), [("yuan", 1), ("WAN", 10_000), ("亿元", 10**8)])
def test_unit_factor(unit: str, factor: int) -> None:
    assert unit_factor(unit) == factor


def test_unknown_unit_is_named() -> None:
    with pytest.raises(ValueError, match="'thousand'"):
        unit_factor("thousand")


@pytest.mark.parametrize(
    ("raw", "count"),
    [("12", 12), (12.0, 12), ("1,200", 1200), ("12次", 12), ("3笔", 3), ("-1", None), (1.5, None)],
)
def test_parse_count(raw: object, count: int | None) -> None:
    assert parse_count(raw) == count


@pytest.mark.parametrize(
    ("raw", "gender"),
    [
        ("男", "M"),
        ("女", "F"),
        ("M", "M"),
        ("f", "F"),
        ("Male", "M"),
        ("FEMALE", "F"),
        ("1", "M"),  # GB/T 2261.1
        (2, "F"),
        ("未知", "U"),
        ("0", "U"),
        ("9", "U"),
        ("男性", "M"),
        ("x", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_gender(raw: object, gender: str | None) -> None:
    assert parse_gender(raw) == gender


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("保守型", "C1"),
        ("稳健型", "C2"),
        ("平衡型", "C3"),
        ("成长型", "C4"),
        ("进取型", "C5"),
        ("保守", "C1"),
        ("谨慎型", "C2"),
        ("相对保守型", "C2"),  # not C1: the longer word decides
        ("积极型", "C4"),
        ("激进型", "C5"),
        ("C3", "C3"),
        ("c5", "C5"),
        ("3", "C3"),
        (4.0, "C4"),
        ("C3-平衡型", "C3"),
        ("平衡型(C3)", "C3"),
        ("ＣＯＮＳＥＲＶＡＴＩＶＥ", "C1"),
        ("moderately aggressive", "C4"),
        ("aggressive", "C5"),
        ("balanced", "C3"),
        ("C6", None),
        ("R3", None),  # a product risk, not a customer risk level
        ("未评估", None),
        (None, None),
    ],
)
def test_parse_risk_level(raw: object, level: str | None) -> None:
    assert parse_risk_level(raw) == level


@pytest.mark.parametrize(
    ("raw", "risk"),
    [
        ("低风险", "R1"),
        ("中低风险", "R2"),
        ("中风险", "R3"),
        ("中高风险", "R4"),
        ("高风险", "R5"),
        ("R2", "R2"),
        ("r4", "R4"),
        ("PR3", "R3"),
        ("5", "R5"),
        ("medium-high", "R4"),
        ("Low", "R1"),
        ("R6", None),
        ("未知", None),
    ],
)
def test_parse_product_risk(raw: object, risk: str | None) -> None:
    assert parse_product_risk(raw) == risk


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("是", True),
        ("否", False),
        ("true", True),
        ("FALSE", False),
        ("Y", True),
        ("n", False),
        ("1", True),
        ("0", False),
        (1, True),
        (0.0, False),
        (True, True),
        ("同意", True),
        ("不同意", False),
        ("maybe", None),
        (None, None),
    ],
)
def test_parse_bool(raw: object, flag: bool | None) -> None:
    assert parse_bool(raw) is flag


@pytest.mark.parametrize(
    ("raw", "flag"),
    [
        ("red", "red"),
        ("Black", "black"),
        ("红名单", "red"),
        ("黑名单", "black"),
        ("黑", "black"),
        ("无", None),
        ("white", None),
    ],
)
def test_parse_list_flag(raw: object, flag: str | None) -> None:
    assert parse_list_flag(raw) == flag


@pytest.mark.parametrize(
    ("raw", "id_type"),
    [
        ("身份证", "CN_RID"),
        ("居民身份证", "CN_RID"),
        ("01-居民身份证", "CN_RID"),
        ("cn_rid", "CN_RID"),
        ("护照", "PASSPORT"),
        ("Passport", "PASSPORT"),
        ("港澳通行证", "HKMO_PERMIT"),
        ("港澳居民来往内地通行证", "HKMO_PERMIT"),
        ("回乡证", "HKMO_PERMIT"),
        ("台胞证", "TW_PERMIT"),
        ("台湾居民来往大陆通行证", "TW_PERMIT"),
        ("外国人永久居留证", "FOREIGN_PR"),
        ("外国人永久居留身份证", "FOREIGN_PR"),  # contains 身份证 but is not a resident id
        ("军官证", "OTHER"),
        ("", None),
        (None, None),
    ],
)
def test_parse_id_type(raw: object, id_type: str | None) -> None:
    assert parse_id_type(raw) == id_type


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_resident_id_check_character_agrees_with_python_stdnum(body17: str) -> None:
    # Our one home of the ISO 7064 MOD 11-2 formula against an independent implementation.
    from stdnum.cn import ric

    from mdm.standardize.ids import rid_check_char

    assert rid_check_char(body17) == ric.calc_check_digit(body17 + "0")


def test_a_count_too_large_for_any_warehouse_column_is_no_count() -> None:
    # Found by the property test: a 30-digit "count" overflowed the Int64 column (a traceback).
    assert parse_count("1" * 30) is None
    assert parse_count(10**13) is None and parse_count(float(10**13)) is None
    assert parse_count("1,200次") == 1200 and parse_count(10**12) == 10**12
