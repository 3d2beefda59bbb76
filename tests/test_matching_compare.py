"""Comparison levels: each level of each comparison on a pair built to reach it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from helpers.matching_data import (
    CHEN_LI,
    LI_NA,
    R_CHEN,
    R_LI,
    R_ZW1,
    R_ZW1_TYPO,
    WANG_PARTIAL,
    WANG_WEI,
    ZHANG_WEI,
    masked,
    record,
)

from mdm.matching.compare import COMPARISONS, NULL, compare
from mdm.matching.features import prepare
from mdm.standardize.ids import normalize_id


def level_of(comparison: str, left: dict[str, Any], right: dict[str, Any]) -> str:
    records = pd.DataFrame([{**left, "record_key": "a:1"}, {**right, "record_key": "b:1"}])
    features = prepare(records.set_index("record_key"))
    code = int(compare(features, [0], [1])[comparison].iloc[0])
    return "null" if code == NULL else COMPARISONS[comparison][code]


def rec(name: tuple[str, str, str, bool] | None = CHEN_LI, **fields: Any) -> dict[str, Any]:
    return record("branch", "x", "x", name, **fields)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (CHEN_LI, CHEN_LI, "exact"),  # 陈丽 and 陳麗 share the simplified key
        (ZHANG_WEI, ("张玮", "zhang wei", "wei zhang", False), "pinyin_exact"),  # homophone
        (
            ("张小明", "zhang xiaoming", "xiaoming zhang", False),
            ("张小红", "zhang xiaohong", "xiaohong zhang", False),
            "char_similar",
        ),
        (WANG_WEI, LI_NA, "different"),
        (("li chen", "chen li", "chen li", False), CHEN_LI, "romanized_exact"),
        (("wie zhang", "zhang wie", "wie zhang", False), ZHANG_WEI, "romanized_similar"),
        (("john smith", "john smith", "john smith", False), ZHANG_WEI, "romanized_different"),
        (WANG_PARTIAL, WANG_WEI, "surname_only"),  # 王先生 and 王伟
        (WANG_PARTIAL, ("wei wang", "wei wang", "wang wei", False), "surname_only"),
        (WANG_PARTIAL, LI_NA, "surname_different"),
        (None, CHEN_LI, "null"),
    ],
)
def test_name_levels(left: Any, right: Any, expected: str) -> None:
    assert level_of("name", rec(left), rec(right)) == expected


TYPO_CHECK = R_LI[:17] + ("0" if R_LI[17] != "0" else "1")


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (rec(id_number=R_CHEN), rec(id_number=R_CHEN), "exact"),
        (rec(id_number=R_CHEN), rec(id_number=R_LI), "conflict"),  # the hard negative
        (rec(id_number=R_ZW1), rec(id_number=R_ZW1_TYPO, id_valid=False), "typo"),
        (rec(id_number=R_LI), rec(id_number=TYPO_CHECK, id_valid=False), "typo"),
        (rec(id_number=R_CHEN), rec(id_number=R_LI[:-2] + "00", id_valid=False), "different"),
        # a resident id and a passport number are not compared: they never agree
        (rec(id_number=R_CHEN), {**rec(id_number="E12345678"), "id_type": "PASSPORT"}, "null"),
        (rec(id_number=R_CHEN), rec(id_number=masked(R_CHEN)), "masked_compatible"),
        (rec(id_number=masked(R_CHEN)), rec(id_number=masked(R_CHEN)), "masked_compatible"),
        (rec(id_number=R_LI), rec(id_number=masked(R_CHEN)), "masked_different"),
        (rec(id_number=R_CHEN), rec(), "null"),
    ],
)
def test_id_levels(left: dict[str, Any], right: dict[str, Any], expected: str) -> None:
    assert level_of("id", left, right) == expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (rec(birth_date=dt.date(1985, 3, 12)), rec(birth_date=dt.date(1985, 3, 12)), "exact"),
        (
            rec(birth_date=dt.date(1985, 3, 12)),
            rec(birth_date=dt.date(1985, 12, 3)),
            "day_month_swapped",
        ),
        (rec(birth_date=dt.date(1985, 3, 12)), rec(birth_date=dt.date(1985, 7, 1)), "same_year"),
        (rec(birth_date=dt.date(1985, 3, 12)), rec(birth_date=dt.date(1990, 3, 12)), "different"),
        # one keystroke: a year digit mistyped, two digits of the year transposed, the day's
        # digit next to the right one
        (rec(birth_date=dt.date(1985, 3, 12)), rec(birth_date=dt.date(1986, 3, 12)), "typo"),
        (rec(birth_date=dt.date(1978, 3, 12)), rec(birth_date=dt.date(1987, 3, 12)), "typo"),
        (rec(birth_date=dt.date(1985, 3, 12)), rec(birth_date=dt.date(1985, 3, 13)), "typo"),
        (rec(birth_date=dt.date(1985, 3, 12)), rec(birth_date=dt.date(1985, 3, 21)), "typo"),
        (rec(birth_date=dt.date(1985, 3, 12)), rec(birth_year=1985), "year_agrees"),
        (rec(birth_year=1985), rec(birth_year=1986), "year_different"),
        (rec(birth_date=dt.date(1985, 3, 12)), rec(), "null"),
    ],
)
def test_birth_date_levels(left: dict[str, Any], right: dict[str, Any], expected: str) -> None:
    assert level_of("birth_date", left, right) == expected


@pytest.mark.parametrize(
    ("comparison", "left", "right", "expected"),
    [
        ("mobile", rec(mobile="+8613911428803"), rec(mobile="+8613911428803"), "exact"),
        ("mobile", rec(mobile="+8613911428803"), rec(mobile="+8613911428830"), "one_edit"),
        ("mobile", rec(mobile="+8613911428803"), rec(mobile="+8613911428813"), "one_edit"),
        ("mobile", rec(mobile="+8613911428803"), rec(mobile="+8615077213356"), "different"),
        ("mobile", rec(mobile="+8613911428803"), rec(), "null"),
        ("email", rec(email="a@example.com"), rec(email="A@Example.com"), "exact"),
        ("email", rec(email="a@example.com"), rec(email="b@example.com"), "different"),
        # the local part re-typed: a transposition, a dropped letter, another provider
        (
            "email",
            rec(email="jamie.pacheco52@example.org"),
            rec(email="jamie.pacehco52@example.org"),
            "local_similar",
        ),
        (
            "email",
            rec(email="maria.lopez@gmail.com"),
            rec(email="maria.lpez@gmail.com"),
            "local_similar",
        ),
        (
            "email",
            rec(email="maria.lopez@gmail.com"),
            rec(email="maria.lopez@hotmail.es"),
            "local_similar",
        ),
        # spouses' addresses differ by more than one edit; short local parts are common
        (
            "email",
            rec(email="john.green41@example.com"),
            rec(email="jane.green41@example.com"),
            "different",
        ),
        ("email", rec(email="li@qq.com"), rec(email="lu@qq.com"), "different"),
        # a side without a mobile: any phone of one against any phone of the other
        (
            "mobile",
            rec(phone_other="+34965912632"),
            rec(mobile="+34747380071", phone_other="+34965912632"),
            "phone_shared",
        ),
        ("mobile", rec(mobile="+34747380071"), rec(phone_other="+34747380071"), "phone_shared"),
        (
            "mobile",
            rec(phone_other="+34965912632"),
            rec(phone_other="+34965912633"),
            "phones_different",
        ),
        (
            "mobile",
            rec(mobile="+34747380071", phone_other="+34965912632"),
            rec(mobile="+34747380072", phone_other="+34965912632"),
            "one_edit",
        ),
        ("gender", rec(gender="F"), rec(gender="F"), "agree"),
        ("gender", rec(gender="F"), rec(gender="M"), "disagree"),
        ("gender", rec(gender="F"), rec(gender="U"), "null"),
    ],
)
def test_contact_and_gender_levels(
    comparison: str, left: dict[str, Any], right: dict[str, Any], expected: str
) -> None:
    assert level_of(comparison, left, right) == expected


HOME = "北京市朝阳区建国路88号院2号楼1201"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (
            rec(address=HOME, city="北京市"),
            rec(address=HOME.replace("88", " 88 "), city="北京"),
            "exact",
        ),  # spacing and the 市 suffix do not matter
        (rec(address=HOME), rec(address=HOME + "室"), "fuzzy"),
        (
            rec(address=HOME, city="北京市"),
            rec(address="北京市海淀区中关村大街1号", city="北京市"),
            "same_city",
        ),
        (
            rec(address=HOME, city="北京市"),
            rec(address="上海市黄浦区南京东路300号", city="上海市"),
            "different",
        ),
        (rec(address=HOME, city="北京市"), rec(city="北京"), "city_agrees"),
        (rec(city="北京市"), rec(city="上海市"), "city_different"),
        (rec(address=HOME), rec(city="北京市"), "null"),
        # latin addresses: the street type abbreviated, a word dropped; the same number
        (
            rec(address="Calle de Claudio Lledó 6", city="Valladolid"),
            rec(address="C/ Claudio Lledó 6", city="Valladolid"),
            "number_street",
        ),
        (
            rec(address="Calle de Claudio Lledó 6", city="Valladolid"),
            rec(address="Calle de Claudio Lledó 8", city="Valladolid"),
            "same_city",  # a neighbour: another number
        ),
        (
            rec(address="8 Norris Stravenue", postal_code="97550"),
            rec(address="14 Reed Lane", postal_code="97550"),
            "same_postcode",
        ),
        # an address missing: postcode, then city, then a city one typo away
        (
            rec(address="12 High St", city="Leeds", postal_code="LS1 4AP"),
            rec(city="Leeds", postal_code="ls14ap"),
            "postcode_agrees",
        ),
        (rec(city="Zaragoza"), rec(city="Zaragosa"), "city_typo"),
        (
            rec(city="Zaragoza", postal_code="50001"),
            rec(city="Huelva", postal_code="21001"),
            "city_different",
        ),
    ],
)
def test_address_levels(left: dict[str, Any], right: dict[str, Any], expected: str) -> None:
    assert level_of("address", left, right) == expected


def test_compare_levels_are_symmetric() -> None:
    records = pd.DataFrame(
        [
            rec(WANG_PARTIAL, mobile="+8613911428803", gender="M"),
            rec(("wei wang", "wei wang", "wang wei", False), id_number=masked(R_CHEN)),
            rec(CHEN_LI, id_number=R_CHEN, birth_date=dt.date(1985, 3, 12), city="北京市"),
            rec(("li chen", "chen li", "chen li", False), birth_year=1985, city="北京"),
        ]
    ).assign(record_key=["a:1", "a:2", "a:3", "a:4"])
    features = prepare(records.set_index("record_key"))
    left, right = [0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3]
    assert compare(features, left, right).equals(compare(features, right, left))


def national(number: str, id_type: str) -> dict[str, Any]:
    """A record holding a national id number standardized as the pipeline would."""
    normalized = normalize_id(id_type, number)
    return {
        **rec(id_number=normalized.number, id_valid=normalized.valid),
        "id_type": normalized.id_type,
    }


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        # two valid Spanish DNIs (check letter) are two people, as two resident ids are
        (national("12345678Z", "ES_DNI"), national("87654321X", "ES_DNI"), "conflict"),
        (national("12345678-z", "ES_DNI"), national("12345678Z", "ES_DNI"), "exact"),
        # the check letter left off, a digit mistyped: one edit, the number fails its check
        (national("12345678Z", "ES_DNI"), national("12345678", "ES_DNI"), "typo"),
        (national("12345678Z", "ES_DNI"), national("12345878Z", "ES_DNI"), "typo"),
        (national("12345678Z", "ES_DNI"), national("21345678Z", "ES_DNI"), "typo"),
        # a French NIR with its key; a mistyped digit breaks the key
        (national("269054958815780", "FR_NIR"), national("269054958815880", "FR_NIR"), "typo"),
        # a US SSN has no check digit: one edit apart may be a typo, never a veto
        (national("536-90-4399", "US_SSN"), national("536-90-4398", "US_SSN"), "typo"),
        (national("536-90-4399", "US_SSN"), national("078-05-1121", "US_SSN"), "different"),
        # passports: plausible shapes only, so a mistyped one still looks valid
        (
            {**rec(id_number="C12345678"), "id_type": "PASSPORT"},
            {**rec(id_number="C12345778"), "id_type": "PASSPORT"},
            "typo",
        ),
        # a DNI and an NIE of one person (a resident later naturalized) are not compared
        (national("X1234567L", "ES_NIE"), national("12345678Z", "ES_DNI"), "null"),
    ],
)
def test_id_levels_of_every_id_type(
    left: dict[str, Any], right: dict[str, Any], expected: str
) -> None:
    assert level_of("id", left, right) == expected
