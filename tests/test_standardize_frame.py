"""standardize_frame: the whole standard record from a mapped channel frame."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mdm.schema import CANONICAL_FIELDS, DERIVED_FIELDS
from mdm.standardize import map_unique, standardize_frame, vectorized

FORMULA = "=cmd|' /C calc'!A0"


def _frame(rows: list[dict[str, Any]], index: list[Any] | None = None) -> pd.DataFrame:
    return pd.DataFrame(rows, index=index)


def _row(frame: pd.DataFrame, label: Any) -> dict[str, Any]:
    return frame.loc[label].to_dict()


# One row per SPEC §1 channel quirk, as mapped from the channel (raw strings).
CHANNEL_ROWS: dict[str, dict[str, Any]] = {
    "branch": {
        "full_name": "张 伟",
        "gender": "男",
        "birth_date": "19491231",
        "id_type": "居民身份证",
        "id_number": "110105491231002",  # legacy 15 digits
        "mobile": "13812345678",
        "aum_cny": "1,234,567.89",
    },
    "app": {
        "full_name": "Li Na",
        "id_number": "110101********1234",  # masked
        "mobile": "+86 139 8765 4321",
        "email": "Li.Na@QQ.com",
        "last_txn_at": "2024-04-02T02:30:15Z",
    },
    "fund": {
        "full_name": "王小明",
        "birth_date": "2024年4月2日",
        "aum_cny": "12.5万",
        "risk_level": "平衡型",
        "risk_assessed_on": "45384",
        "mobile": "１３８１２３４５６７８",
    },
    "call_center": {
        "full_name": "陳先生",
        "mobile": "0086-137-1234-5678",
        "phone_other": "010-12345678",
    },
    "third_party": {
        "full_name": "ZHANG WEI",
        "birth_year": "1985",
        "city": "北京",
    },
}


@pytest.fixture(scope="module")
def channels() -> pd.DataFrame:
    frame = _frame(list(CHANNEL_ROWS.values()), index=list(CHANNEL_ROWS))
    frame.insert(0, "source_system", list(CHANNEL_ROWS))
    return standardize_frame(frame)


def test_channel_quirks(channels: pd.DataFrame) -> None:
    branch, app, fund, call, third = (_row(channels, name) for name in CHANNEL_ROWS)
    assert branch["full_name"] == "张伟"
    assert branch["id_number"] == "11010519491231002X"
    assert branch["id_valid"] is True
    assert branch["aum_cny"] == 1234567.89
    assert app["id_number"] == "110101********1234"
    assert app["id_masked"] is True
    assert pd.isna(app["id_valid"])
    assert app["mobile"] == "+8613987654321"
    assert app["email"] == "li.na@qq.com"
    assert app["last_txn_at"] == pd.Timestamp("2024-04-02 10:30:15")
    assert fund["birth_date"] == dt.date(2024, 4, 2)
    assert fund["aum_cny"] == 125000.0
    assert fund["risk_level"] == "C3"
    assert fund["risk_assessed_on"] == dt.date(2024, 4, 2)
    assert fund["mobile"] == "+8613812345678"
    assert call["name_key"] == "陈"
    assert call["name_is_partial"] is True
    assert call["gender"] == "M"  # from 先生
    assert call["mobile"] == "+8613712345678"
    assert call["phone_other"] == "+861012345678"
    assert third["name_pinyin_sorted"] == branch["name_pinyin_sorted"] == "wei zhang"
    assert third["birth_year"] == 1985
    assert channels["unparsed_fields"].isna().all()


def test_rows_index_and_passthrough_columns_are_kept() -> None:
    raw = _frame(
        [
            {"source_record_id": "a", "source_row": 7, "full_name": "张伟", "mobile": "abc"},
            {"source_record_id": "b", "source_row": 8, "full_name": None, "mobile": None},
            {"source_record_id": "c", "source_row": 9, "full_name": "  ", "mobile": "x"},
        ],
        index=["r1", "r1", "r3"],  # duplicate labels too: rows are kept by position
    )
    before = raw.copy()
    standardized = standardize_frame(raw)
    assert list(standardized.index) == ["r1", "r1", "r3"]
    assert standardized["source_record_id"].tolist() == ["a", "b", "c"]
    assert standardized["source_row"].tolist() == [7, 8, 9]
    assert list(standardized.columns[:2]) == ["source_record_id", "source_row"]
    expected = set(CANONICAL_FIELDS) | set(DERIVED_FIELDS) | {"full_name_raw", "id_number_raw"}
    assert expected <= set(standardized.columns)
    pd.testing.assert_frame_equal(raw, before)  # the input is not modified


def test_empty_frame() -> None:
    standardized = standardize_frame(pd.DataFrame({"full_name": pd.Series([], dtype="str")}))
    assert len(standardized) == 0
    assert "name_key" in standardized.columns


def test_birth_date_and_gender_come_from_a_trusted_id() -> None:
    raw = _frame(
        [
            {"id_number": "11010519491231002X"},  # valid, F, 1949-12-31
            {"id_number": "440305199003071235"},  # bad check digit
            {"id_number": "11010119900307****"},  # masked, date visible
            {"id_number": "11010519491231002X", "birth_date": "1950-01-01", "gender": "男"},
            {"id_number": "11010519491231002X", "gender": "未知"},
        ]
    )
    standardized = standardize_frame(raw)
    assert standardized["birth_date"].tolist() == [
        dt.date(1949, 12, 31),
        None,  # an id that fails its check fills nothing
        dt.date(1990, 3, 7),
        dt.date(1950, 1, 1),  # stated values are never overwritten
        dt.date(1949, 12, 31),
    ]
    assert standardized["id_birth_date"].tolist()[1] == dt.date(1990, 3, 7)
    assert standardized["birth_year"].tolist() == [1949, pd.NA, 1990, 1950, 1949]
    assert standardized["gender"].tolist() == ["F", None, None, "M", "F"]
    assert standardized["id_gender"].tolist() == ["F", "M", None, "F", "F"]
    assert standardized["id_valid"].tolist() == [True, False, pd.NA, True, True]
    assert standardized["id_type"].tolist() == ["CN_RID"] * 5  # inferred from the shape


def test_unknown_gender_stays_unknown_without_better_evidence() -> None:
    standardized = standardize_frame(
        _frame([{"full_name": "张伟", "gender": "未知"}, {"full_name": "李女士", "gender": "U"}])
    )
    assert standardized["gender"].tolist() == ["U", "F"]


def test_unparsed_fields_lists_values_that_did_not_parse() -> None:
    raw = _frame(
        [
            {"birth_date": "不详", "mobile": "abc", "email": "wang@qq", "aum_cny": "1,000"},
            {"birth_date": "1985", "mobile": None, "email": "", "aum_cny": "NULL"},
            {"birth_date": "2024-02-30", "risk_level": "未评估", "list_flag": "正常"},
            {"gender": "?", "marketing_consent": "也许", "list_flag": "黑名单"},
        ]
    )
    standardized = standardize_frame(raw)
    assert standardized["unparsed_fields"].tolist() == [
        "birth_date mobile email",
        None,  # a year-only birth date is a birth year; blanks and NULL are just absent
        "birth_date risk_level",  # 正常 means "on no list", not garbage
        "gender marketing_consent",
    ]
    assert standardized["birth_year"].tolist()[1] == 1985
    assert standardized["birth_date"].tolist()[1] is None
    assert standardized["list_flag"].tolist() == [None, None, None, "black"]


def test_raw_values_are_kept_for_name_and_id_only() -> None:
    raw = _frame([{"full_name": " 陳 國藩 ", "id_number": "11010519491231002x", "city": " 北京 "}])
    standardized = standardize_frame(raw)
    row = _row(standardized, 0)
    assert (row["full_name"], row["full_name_raw"]) == ("陳國藩", " 陳 國藩 ")
    assert (row["id_number"], row["id_number_raw"]) == ("11010519491231002X", "11010519491231002x")
    assert row["name_key"] == "陈国藩"
    assert row["city"] == "北京"
    assert "city_raw" not in standardized.columns


def test_full_name_is_composed_when_absent() -> None:
    raw = _frame(
        [
            {"family_name": "张", "given_name": "伟"},
            {"family_name": "Zhang", "given_name": "Wei"},
            {"family_name": "欧阳", "given_name": None},
            {"full_name": "李娜", "family_name": "王", "given_name": "芳"},
        ]
    )
    standardized = standardize_frame(raw)
    assert standardized["full_name"].tolist() == ["张伟", "Wei Zhang", "欧阳", "李娜"]
    assert standardized["name_pinyin_sorted"].tolist()[:2] == ["wei zhang", "wei zhang"]


def test_formula_text_passes_through_as_text() -> None:
    raw = _frame([{"full_name": FORMULA, "address": FORMULA, "employer": "@SUM(1+1)"}])
    row = _row(standardize_frame(raw), 0)
    assert (row["full_name"], row["address"], row["employer"]) == (FORMULA, FORMULA, "@SUM(1+1)")


def test_control_characters_are_removed_from_names() -> None:
    raw = _frame([{"full_name": "张\x00伟\u200b", "address": "北京市\n朝阳区"}])
    row = _row(standardize_frame(raw), 0)
    assert (row["full_name"], row["name_key"], row["address"]) == ("张伟", "张伟", "北京市 朝阳区")


def test_channel_formats_and_units() -> None:
    raw = _frame([{"birth_date": "04/02/1990", "aum_cny": "12.5", "last_txn_at": "02.04.2024"}])
    row = _row(
        standardize_frame(
            raw,
            formats={"birth_date": "%m/%d/%Y", "last_txn_at": "%d.%m.%Y"},
            units={"aum_cny": "wan"},
        ),
        0,
    )
    assert row["birth_date"] == dt.date(1990, 4, 2)
    assert row["last_txn_at"] == pd.Timestamp("2024-04-02")
    assert row["aum_cny"] == 125000.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"formats": {"mobile": "%Y"}}, "formats: not applicable to field.s. mobile"),
        ({"units": {"birth_date": "wan"}}, "units: not applicable to field.s. birth_date"),
        ({"units": {"aum_cny": "dollars"}}, "units: aum_cny: unknown amount unit 'dollars'"),
    ],
)
def test_misconfigured_options_are_named(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        standardize_frame(_frame([{"aum_cny": "1"}]), **options)


def test_column_types() -> None:
    raw = _frame(
        [
            {
                "full_name": "张伟",
                "birth_date": "1990-03-07",
                "aum_cny": "1,000",
                "txn_count_12m": "12",
                "marketing_consent": "是",
                "last_txn_at": "2024-04-02 10:00:00",
            }
        ]
    )
    standardized = standardize_frame(raw)
    assert standardized["aum_cny"].dtype == np.float64
    assert standardized["txn_count_12m"].dtype == "Int64"
    assert standardized["birth_year"].dtype == "Int64"
    assert standardized["marketing_consent"].dtype == "boolean"
    assert standardized["id_valid"].dtype == "boolean"
    assert standardized["last_txn_at"].dtype == "datetime64[us]"
    assert standardized["full_name"].dtype == object
    assert isinstance(standardized["birth_date"].iat[0], dt.date)
    assert standardized["email"].iat[0] is None


def _mixed_channel(size: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    names = np.array(["张伟", "陳國藩", "王先生", "欧阳修", "Wei Zhang", "张 伟", "李娜", None])
    ids = np.array(
        ["11010519491231002x", "110105491231002", "110101********1234", "440305199003071235"]
        + ["360426199101010071", "E12345678", "", None]
    )
    mobiles = np.array(["13812345678", "+86 139 8765 4321", "0086-137-1234-5678", "abc", None])
    amounts = np.array(["1,234.5", "12.5万", "(100)", "x", "7", None])
    stamps = np.array(["2024-04-02 10:00:00", "2024-04-02T02:00:00Z", "2024/4/2", "?", None])
    dates = np.array(["1990-03-07", "19900307", "1990年3月7日", "1985", "不详", None])

    def pick(values: np.ndarray) -> list[Any]:
        return list(values[rng.integers(0, len(values), size)])

    return _frame(
        [
            {
                "full_name": name,
                "id_number": id_number,
                "mobile": mobile,
                "aum_cny": amount,
                "last_txn_at": stamp,
                "birth_date": date,
                "address": f"北京市朝阳区{number}号" if number % 5 else f" 北京市  {number} ",
            }
            for name, id_number, mobile, amount, stamp, date, number in zip(
                pick(names),
                pick(ids),
                pick(mobiles),
                pick(amounts),
                pick(stamps),
                pick(dates),
                rng.integers(0, 50, size),
                strict=True,
            )
        ]
    )


def test_fast_paths_do_not_change_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectorized fast paths only ever see text through arrow_strings: without it every
    value goes through the scalar standardizers, and the records must come out the same."""
    frame = _mixed_channel(400).astype("str")
    fast = standardize_frame(frame)
    monkeypatch.setattr(vectorized, "arrow_strings", lambda values: None)
    scalar = standardize_frame(frame)
    pd.testing.assert_frame_equal(fast, scalar)


def test_mixed_spreadsheet_columns_match_text_columns() -> None:
    """Numbers and dates among the text (XLSX) take the per-value path, text the fast one."""
    text_frame = _mixed_channel(400).astype("str")
    object_frame = text_frame.astype(object)
    object_frame.loc[len(object_frame)] = [1.5] * len(object_frame.columns)
    from_text = standardize_frame(text_frame)
    from_objects = standardize_frame(object_frame).iloc[:-1]
    pd.testing.assert_frame_equal(
        from_text.drop(columns=["full_name_raw", "id_number_raw"]),
        from_objects.drop(columns=["full_name_raw", "id_number_raw"]),
    )


def test_map_unique_calls_once_per_distinct_value() -> None:
    calls: list[Any] = []

    def shout(value: Any) -> str:
        calls.append(value)
        return str(value).upper()

    series = pd.Series(["a", "b", None, "a", "b", "a"], index=list("uvwxyz"))
    result = map_unique(series, shout)
    assert result.tolist() == ["A", "B", None, "A", "B", "A"]
    assert list(result.index) == list("uvwxyz")
    assert sorted(calls) == ["a", "b"]


def test_throughput_is_many_thousand_rows_per_second() -> None:
    # A coarse guard against per-row Python creeping in (the target is 100,000 rows/s).
    frame = pd.concat([_mixed_channel(2_000).astype("str")] * 10, ignore_index=True)
    frame["id_number"] = [f"{110101199003070000 + n:018d}" for n in range(len(frame))]
    start = time.perf_counter()
    standardize_frame(frame)
    assert len(frame) / (time.perf_counter() - start) > 10_000
