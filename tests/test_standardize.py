"""Text and name standardizers (mdm.standardize.text, mdm.standardize.names)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mdm.standardize.names import (
    NameKeys,
    clean_person_name,
    honorific_gender,
    is_partial_name,
    name_keys,
    name_keys_many,
    pinyin_tokens,
    split_honorific,
    to_simplified,
    to_simplified_all,
)
from mdm.standardize.text import clean_text, is_blank, nfkc, to_text

FORMULA = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１３８１２３４５６７８", "13812345678"),
        ("ＡＢＣ　ｄｅｆ", "ABC def"),  # full-width letters and ideographic space
        ("张伟", "张伟"),
    ],
)
def test_nfkc_folds_full_width_forms(raw: str, expected: str) -> None:
    assert nfkc(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        (math.nan, None),
        (pd.NA, None),
        (13812345678.0, "13812345678"),  # spreadsheets hand integers over as floats
        (12.5, "12.5"),
        (42, "42"),
        ("  as is ", "  as is "),
    ],
)
def test_to_text(raw: object, expected: str | None) -> None:
    assert to_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  北京市   朝阳区 ", "北京市 朝阳区"),
        ("北京市\n朝阳区\t建国路", "北京市 朝阳区 建国路"),  # line breaks keep a word boundary
        ("张\x00伟\x07", "张伟"),  # C0 controls
        ("王\x85芳", "王 芳"),  # NEL is whitespace
        ("李\x9b娜", "李娜"),  # C1 control
        ("\ufeff陈\u200b静\u200d", "陈静"),  # BOM, zero-width space and joiner
        ("Ｗａｎｇ　Ｌｅｉ", "Wang Lei"),
        ("   ", None),
        ("\x00\x01", None),
        ("", None),
        (None, None),
        (FORMULA, FORMULA),  # formula text is data here: kept verbatim, not executed
        ("@SUM(1+1)*cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"),
    ],
)
def test_clean_text(raw: object, expected: str | None) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "blank"),
    [
        (None, True),
        (math.nan, True),
        ("", True),
        ("  ", True),
        ("NULL", True),
        (" none ", True),
        ("N/A", True),
        ("--", True),
        ("无", True),
        ("\u3000", True),
        ("不详", False),  # says something: that it is unknown
        ("0", False),
        ("Na", False),  # a real (pinyin) name, not "not applicable"
        ("a long plain value", False),
    ],
)
def test_is_blank(raw: object, blank: bool) -> None:
    assert is_blank(raw) is blank


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张 伟", "张伟"),
        (" 欧阳  修 ", "欧阳修"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽 . 买买提", "阿依古丽·买买提"),  # the dot typed as a full stop
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),  # katakana middle dot
        ("ZHANG   WEI", "ZHANG WEI"),
        ("Wei  Zhang", "Wei Zhang"),
        ("张伟。", "张伟"),
        ("“李娜”", "李娜"),
        ("王\x00芳", "王芳"),
        ("陈\u200b静", "陈静"),
        ("Ｌｉ　Ｎａ", "Li Na"),
        ("陳國藩", "陳國藩"),  # stored as written; only the keys are simplified
        ("张*", "张*"),  # a masked name stays recognisably masked
        (FORMULA, FORMULA),
        ("  ", None),
        (None, None),
    ],
)
def test_clean_person_name(raw: object, expected: str | None) -> None:
    assert clean_person_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("陳國藩", "陈国藩"), ("張偉", "张伟"), ("歐陽修", "欧阳修"), ("张伟", "张伟"), ("Li", "Li")],
)
def test_to_simplified(raw: str, expected: str) -> None:
    assert to_simplified(raw) == expected


def test_to_simplified_all_matches_one_by_one() -> None:
    names = ["陳國藩", "張偉", "李娜", "歐陽修", "鄭秀蘭"]
    assert to_simplified_all(names) == [to_simplified(name) for name in names]
    assert to_simplified_all([]) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("王先生", ("王", "先生")),
        ("李女士", ("李", "女士")),
        ("陈小姐", ("陈", "小姐")),
        ("陳小姐", ("陈", "小姐")),  # traditional caller from the call center
        ("张总", ("张", "总")),
        ("刘经理", ("刘", "经理")),
        ("欧阳先生", ("欧阳", "先生")),
        ("老王", ("王", "老")),
        ("小李", ("李", "小")),
        (" 王 先生 ", ("王", "先生")),
        ("王伟", None),
        ("小明", None),  # 明 is no common surname: a given name, not 小 + surname
        ("张先生伟", None),
        ("先生", None),
        ("Mr Wang", None),
        (None, None),
    ],
)
def test_split_honorific(raw: object, expected: tuple[str, str] | None) -> None:
    assert split_honorific(raw) == expected
    assert is_partial_name(raw) is (expected is not None)


@pytest.mark.parametrize(
    ("honorific", "gender"),
    [("先生", "M"), ("女士", "F"), ("小姐", "F"), ("总", None), ("老", None)],
)
def test_honorific_gender(honorific: str, gender: str | None) -> None:
    assert honorific_gender(honorific) == gender


@pytest.mark.parametrize(
    ("name", "tokens"),
    [
        ("张伟", ["zhang", "wei"]),
        ("王小明", ["wang", "xiaoming"]),
        ("欧阳修", ["ouyang", "xiu"]),
        ("司马光", ["sima", "guang"]),
        ("诸葛亮", ["zhuge", "liang"]),
        ("上官婉儿", ["shangguan", "waner"]),
        ("尉迟恭", ["yuchi", "gong"]),
        ("万俟卨", ["moqi", "xie"]),
        ("长孙无忌", ["zhangsun", "wuji"]),
        # polyphonic surnames read as surnames, not with their everyday reading
        ("单雄信", ["shan", "xiongxin"]),
        ("曾国藩", ["zeng", "guofan"]),
        ("解缙", ["xie", "jin"]),
        ("仇英", ["qiu", "ying"]),
        ("区伟", ["ou", "wei"]),
        ("查良镛", ["zha", "liangyong"]),
        ("朴槿惠", ["piao", "jinhui"]),
        ("覃明", ["qin", "ming"]),
        ("乐嘉", ["yue", "jia"]),
        ("翟天临", ["zhai", "tianlin"]),
        ("缪可馨", ["miao", "kexin"]),
        ("盖聂", ["ge", "nie"]),
        ("陳國藩", ["chen", "guofan"]),  # traditional characters meet their simplified form
        ("吕布", ["lu", "bu"]),  # ü is written u, as passports do
        ("阿依古丽·买买提", ["ayiguli", "maimaiti"]),
        ("王先生", ["wang"]),  # a partial caller is known by the surname only
        # latin input: lowercase, either order, given-name syllables joined
        ("ZHANG WEI", ["zhang", "wei"]),
        ("Wei Zhang", ["zhang", "wei"]),
        ("Zhang, Wei", ["zhang", "wei"]),
        ("Wang Xiao Ming", ["wang", "xiaoming"]),
        ("Xiao Ming Wang", ["wang", "xiaoming"]),
        ("Xiao-Ming WANG", ["wang", "xiaoming"]),
        ("LYU Bu", ["lu", "bu"]),
        ("John Paul Smith", ["john", "paul", "smith"]),  # not pinyin: words kept in order
        ("", []),
        (None, []),
    ],
)
def test_pinyin_tokens(name: object, tokens: list[str]) -> None:
    assert pinyin_tokens(name) == tokens


@pytest.mark.parametrize(
    "variant", ["ZHANG WEI", "Wei Zhang", "wei zhang", "张伟", "張偉", "张 伟"]
)
def test_name_variants_meet_on_sorted_pinyin(variant: str) -> None:
    assert name_keys(variant).name_pinyin_sorted == "wei zhang"


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("张伟", NameKeys("张伟", "zhang wei", "wei zhang", False)),
        ("陳 國藩", NameKeys("陈国藩", "chen guofan", "chen guofan", False)),
        ("王先生", NameKeys("王", "wang", "wang", True)),
        ("陳小姐", NameKeys("陈", "chen", "chen", True)),
        ("Wei Zhang", NameKeys("wei zhang", "zhang wei", "wei zhang", False)),
        ("Wang Xiao Ming", NameKeys("wang xiao ming", "wang xiaoming", "wang xiaoming", False)),
        (None, NameKeys(None, None, None, None)),
        ("  ", NameKeys(None, None, None, None)),
    ],
)
def test_name_keys(name: object, keys: NameKeys) -> None:
    assert name_keys(name) == keys


def test_name_keys_many_matches_one_by_one() -> None:
    names = ["张伟", "陳國藩", None, "王先生", "Wei Zhang", "欧阳修", "阿依古丽·买买提"]
    assert name_keys_many(names) == [name_keys(name) for name in names]
