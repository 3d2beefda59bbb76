"""Regressions from issue 12 (rows 5, 11, 13) and issue 16 (points 4, 5): real-world variants
that standardization got wrong."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from stdnum.cn import ric

from mdm.standardize import standardize_frame
from mdm.standardize.dates import parse_date, parse_datetime
from mdm.standardize.ids import normalize_id
from mdm.standardize.names import clean_person_name, name_keys
from mdm.standardize.text import ascii_digits, clean_text

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
EXTENDED_ARABIC_INDIC = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
RID = "11010519491231002X"


@pytest.mark.parametrize(
    "control",
    ["\u2066", "\u2067", "\u2068", "\u2069", "\u061c", "\u200e", "\u200f"]
    + [chr(c) for c in range(0x202A, 0x202F)],
)
def test_issue12_row11_bidi_controls_are_removed(control: str) -> None:
    assert clean_person_name(f"{control}张伟{control}") == "张伟"
    assert clean_person_name(f"Wei{control} Zhang") == "Wei Zhang"
    assert clean_text(f"北京市{control}朝阳区") == "北京市朝阳区"


def test_issue12_row11_bidi_isolates_do_not_reach_the_full_name() -> None:
    raw = pd.DataFrame([{"full_name": "\u2067张伟\u2069", "employer": "\u2066ACME\u2069\u061c"}])
    row = standardize_frame(raw).loc[0]
    assert (row["full_name"], row["name_key"], row["employer"]) == ("张伟", "张伟", "ACME")


@pytest.mark.parametrize(
    "written",
    [
        RID.translate(ARABIC_INDIC),
        RID.translate(EXTENDED_ARABIC_INDIC),
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width
        "११०१०५१९४९१२३१००२X",  # Devanagari
        RID[:6].translate(ARABIC_INDIC) + " " + RID[6:],  # mixed scripts, a space
    ],
)
def test_issue12_row13_unicode_digits_in_id_numbers_are_converted(written: str) -> None:
    normalized = normalize_id("CN_RID", written)
    assert (normalized.number, normalized.valid) == (RID, True)
    untyped = normalize_id(None, written)
    assert (untyped.id_type, untyped.number) == ("CN_RID", RID)
    row = standardize_frame(pd.DataFrame([{"id_number": written}])).loc[0]
    assert (row["id_number"], row["id_valid"], row["id_type"]) == (RID, True, "CN_RID")


def test_issue12_row13_passport_digits_are_converted_too() -> None:
    assert normalize_id("PASSPORT", "E" + "12345678".translate(ARABIC_INDIC)).number == "E12345678"


def test_ascii_digits_leaves_other_text_alone() -> None:
    assert ascii_digits("张伟 ٣ abc ²") == "张伟 3 abc ²"  # superscripts are no decimal digits


@pytest.mark.parametrize(
    "placeholder",
    ["9999-12-31", "9999/12/31", "99991231", "9999-12-31 23:59:59", "9999-12-31T00:00:00Z"]
    + ["0001-01-01", "1899-12-31", "2101-01-01", dt.date(9999, 12, 31), dt.datetime(9999, 12, 31)],
)
def test_issue12_row5_out_of_range_dates_are_flagged(placeholder: object) -> None:
    assert parse_date(placeholder) is None
    assert parse_datetime(placeholder) is None
    raw = pd.DataFrame(
        [
            {"risk_assessed_on": placeholder, "source_updated_at": placeholder},
            {"risk_assessed_on": "2024-04-02", "source_updated_at": "2024-04-02 10:30:00"},
        ]
    )
    out = standardize_frame(raw)
    assert out.loc[0, "risk_assessed_on"] is None
    assert pd.isna(out.loc[0, "source_updated_at"])
    assert set(out.loc[0, "unparsed_fields"].split()) == {"risk_assessed_on", "source_updated_at"}
    assert out.loc[1, "risk_assessed_on"] == dt.date(2024, 4, 2)
    assert pd.isna(out.loc[1, "unparsed_fields"])
    # What survivorship does with these columns, and what used to raise OutOfBoundsDatetime.
    for column in ("risk_assessed_on", "source_updated_at"):
        stamps = pd.to_datetime(out[column], utc=True)
        assert (stamps - pd.Timestamp(0, tz="UTC")).notna().tolist() == [False, True]


def test_issue12_row5_dates_at_the_bounds_still_parse() -> None:
    assert parse_date("1900-01-01") == dt.date(1900, 1, 1)
    assert parse_datetime("2100-12-31 23:59:59") == dt.datetime(2100, 12, 31, 23, 59, 59)


@pytest.mark.parametrize(
    ("one_word", "chinese"),
    [
        ("ChenChunzi", "陈春子"),
        ("YanWenjuan", "严文娟"),
        ("zhangwei", "张伟"),
        ("Zhangwei", "张伟"),
        ("ZHANGWEI", "张伟"),
        ("CHENCHUNZI", "陈春子"),
        ("OuyangXiu", "欧阳修"),
        ("ouyangxiu", "欧阳修"),
        ("ChunziChen", "陈春子"),  # given name first, told apart by the surname table
        ("WangXiaoMing", "王小明"),
        ("wangxiaoming", "王小明"),
        ("Lixiaolong", "李小龙"),
    ],
)
def test_issue16_point4_one_word_pinyin_is_split_into_surname_and_given(
    one_word: str, chinese: str
) -> None:
    keys = name_keys(one_word)
    assert keys.name_pinyin == name_keys(chinese).name_pinyin
    assert keys.name_pinyin_sorted == name_keys(chinese).name_pinyin_sorted
    assert keys.name_key == one_word.lower()  # the key keeps the name as written


@pytest.mark.parametrize(
    "latin", ["Johnson", "Maria", "Diane", "McDonald", "Smith", "Anna", "Xian", "Shangguan"]
)
def test_issue16_point4_other_one_word_names_stay_one_token(latin: str) -> None:
    assert name_keys(latin).name_pinyin == latin.lower()


def test_issue16_point4_one_word_pinyin_meets_its_chinese_form_in_a_frame() -> None:
    raw = pd.DataFrame([{"full_name": "ChenChunzi"}, {"full_name": "陈春子"}, {"full_name": "Jo"}])
    out = standardize_frame(raw)
    assert out["name_pinyin"].tolist() == ["chen chunzi", "chen chunzi", "jo"]


def _legacy(number18: str) -> str:
    return number18[:6] + number18[8:17]


def _id_row(id_number: str, birth_date: str | None) -> dict[str, object]:
    out = standardize_frame(pd.DataFrame([{"id_number": id_number, "birth_date": birth_date}]))
    return out.loc[0].to_dict()


def test_issue16_point5_legacy_id_takes_the_century_of_the_stated_birth_date() -> None:
    born_2005 = "11010520050301123" + ric.calc_check_digit("110105200503011230")
    legacy = _legacy(born_2005)
    row = _id_row(legacy, "2005-03-01")
    assert (row["id_number"], row["id_valid"]) == (born_2005, True)
    assert row["id_birth_date"] == dt.date(2005, 3, 1)
    # Without a stated birth date the century stays 19, as legacy cards were issued.
    assert _id_row(legacy, None)["id_number"][6:14] == "19050301"


def test_issue16_point5_legacy_id_agreeing_with_a_1900s_birth_date_stays_valid() -> None:
    row = _id_row(_legacy(RID), "1949-12-31")
    assert (row["id_number"], row["id_valid"], row["birth_date"]) == (
        RID,
        True,
        dt.date(1949, 12, 31),
    )


@pytest.mark.parametrize("stated", ["1950-01-01", "1949-12-30", "1949-12-13", "2000-12-31"])
def test_issue16_point5_legacy_id_contradicted_by_the_birth_date_is_not_valid(
    stated: str,
) -> None:
    from expectations.domain import id_birth_date_ok

    out = standardize_frame(pd.DataFrame([{"id_number": _legacy(RID), "birth_date": stated}]))
    row = out.loc[0]
    assert (row["id_number"], row["id_valid"]) == (RID, False)  # kept, but vetoes nothing
    assert row["birth_date"] == dt.date.fromisoformat(stated)  # the stated date is not replaced
    assert not id_birth_date_ok(out["id_number"], out["birth_date"]).iloc[0]  # flagged


def test_an_id_whose_birth_digits_read_year_0000_fails_its_rule_not_the_run() -> None:
    """Pandas parses 00000307 as 0000-03-07, a day no Python date holds; a 100,000-person
    bench file had such an ID and validation stopped with 'year 0 is out of range'."""
    from expectations.domain import id_birth_date_ok, resident_id_ok

    ids = pd.Series(["110101000003071234", RID, RID, None])
    stated = pd.Series([dt.date(1990, 3, 7), dt.date(1990, 3, 7), dt.date(1949, 12, 31), None])
    # the 0000 ID encodes no birth date: its own rule fails it, this one has nothing to compare
    assert id_birth_date_ok(ids, stated).tolist() == [True, False, True, True]
    assert not resident_id_ok(ids.iloc[:1]).iloc[0]


def test_issue16_point5_an_18_digit_id_is_not_second_guessed() -> None:
    row = _id_row(RID, "1950-01-01")
    assert (row["id_number"], row["id_valid"]) == (RID, True)


def _divisions(rows: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    out = standardize_frame(pd.DataFrame(rows))
    return list(out[["province", "city", "district"]].itertuples(index=False, name=None))


def test_issue16_point5_full_addresses_give_province_city_and_district() -> None:
    rows: list[dict[str, object]] = [
        {"address": "江苏省南京市玄武区中山路18号"},
        {"address": "南京玄武区中山路18号3栋201室"},  # short names, no province
        {"address": "北京市朝阳区建国路88号"},  # a municipality is its own city
        {"address": "上海市"},
        {"address": "广东深圳南山区科技园"},
        {"address": "新疆维吾尔自治区乌鲁木齐市天山区解放路1号"},
        {"address": "江苏省南京市玄武区中山路18号", "city": "南京"},  # agrees: the rest filled
    ]
    assert _divisions(rows) == [
        ("江苏省", "南京市", "玄武区"),
        ("江苏省", "南京市", "玄武区"),
        ("北京市", "北京市", "朝阳区"),
        ("上海市", "上海市", None),
        ("广东省", "深圳市", "南山区"),
        ("新疆维吾尔自治区", "乌鲁木齐市", "天山区"),
        ("江苏省", "南京", "玄武区"),
    ]


def test_issue16_point5_addresses_fill_nothing_they_do_not_say() -> None:
    rows: list[dict[str, object]] = [
        {"address": "朝阳区建国路88号"},  # Beijing or Changchun: too ambiguous
        {"address": "江苏省南京市玄武区中山路18号", "city": "上海市"},  # contradicts the city
        {"address": "江苏省南京市玄武区中山路18号", "province": "江苏省", "district": "鼓楼区"},
        {"address": "221B Baker Street, London"},
        {"address": None, "city": "杭州市"},
    ]
    assert _divisions(rows) == [
        (None, None, None),
        (None, "上海市", None),
        ("江苏省", None, "鼓楼区"),  # the stated district contradicts the address: no fill
        (None, None, None),
        (None, "杭州市", None),
    ]


def test_issue16_point5_address_parsing_runs_once_per_division_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cpca

    seen: list[list[str]] = []
    transform = cpca.transform
    monkeypatch.setattr(cpca, "transform", lambda texts: seen.append(texts) or transform(texts))
    addresses = [f"江苏省南京市玄武区中山路{n}号{n % 7}栋" for n in range(1, 500)]
    assert len(set(_divisions([{"address": a} for a in addresses]))) == 1
    assert seen == [["江苏省南京市玄武区中山路"]]
