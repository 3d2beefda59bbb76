"""The vectorized fast paths agree with the scalar standardizers on every value they handle."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from stdnum.cn import ric

from mdm.standardize import vectorized
from mdm.standardize.amounts import parse_amount
from mdm.standardize.dates import parse_date, parse_datetime
from mdm.standardize.emails import normalize_email
from mdm.standardize.ids import normalize_resident_id
from mdm.standardize.names import clean_person_name, name_keys
from mdm.standardize.phones import to_e164
from mdm.standardize.text import clean_text, is_blank

RNG = random.Random(20240402)


def _strings(values: Sequence[str | None]) -> pa.Array:
    strings = vectorized.arrow_strings(values)
    assert strings is not None
    return strings


def _handled(
    handled: vectorized.Handled, values: Sequence[str | None]
) -> list[tuple[str | None, Any]]:
    """(input, fast result) for each handled value; the input itself when values is None."""
    results = list(values) if handled.values is None else list(handled.values)
    return [
        (value, result)
        for value, result, done in zip(values, results, handled.mask, strict=True)
        if done
    ]


def _check(
    fast: Callable[[pa.Array], vectorized.Handled],
    scalar: Callable[[Any], Any],
    values: Sequence[str | None],
    *,
    typical: Sequence[str],
) -> None:
    handled = fast(_strings(values))
    for value, result in _handled(handled, values):
        assert not is_blank(value), value
        assert result == scalar(value), value
    # Not vacuous: the shapes the fast path exists for are handled.
    typical_handled = fast(_strings(typical))
    assert typical_handled.mask.all(), [v for v, d in zip(typical, typical_handled.mask) if not d]


def test_arrow_strings_only_for_pure_text() -> None:
    assert vectorized.arrow_strings(["a", None, "b"]) is not None
    assert vectorized.arrow_strings(pd.Series(["a", None], dtype="str")) is not None
    assert vectorized.arrow_strings(["a", 1.5]) is None
    assert vectorized.arrow_strings([True, False]) is None


def test_clean_texts_every_stable_character() -> None:
    characters = [chr(code) for code in range(0x20, 0x10000) if not 0xD800 <= code < 0xE000]
    handled = vectorized.clean_texts(_strings(characters))
    for character, _ in _handled(handled, characters):
        assert clean_text(character) == character, repr(character)
        assert not is_blank(character), repr(character)
    assert handled.mask.sum() > 20_000  # ASCII, CJK and common punctuation


TEXTS = [
    "北京市朝阳区建国路88号3栋1201室",
    "Room 1201, No. 88 Jianguo Road",
    "上海市 浦东新区",
    " 上海市",
    "上海市  浦东新区",
    "上海市\t浦东新区",
    "上海\u3000浦东",
    "ＡＢＣ",
    "Ⅻ",
    "…",
    "（朝阳）",
    "null",
    "N/A",
    "无",
    "--",
    "=cmd|' /C calc'!A0",
    "\u200b",
    "café",
    "",
    None,
]


def test_clean_texts_agree_with_clean_text() -> None:
    typical = [
        "北京市朝阳区建国路88号3栋1201室",
        "Room 1201, No. 88 Jianguo Road",
        "上海市 浦东新区",
    ]
    _check(vectorized.clean_texts, clean_text, TEXTS, typical=typical)


NAMES = [
    "张伟",
    "陳國藩",
    "ZHANG WEI",
    "Wei Zhang",
    "张 伟",
    "Wei  Zhang",
    "阿依古丽·买买提",
    "张伟。",
    "Ｌｉ",
    "O'Brien",
    "无",
    "None",
    "null",
    None,
]


def test_clean_person_names_agree_with_clean_person_name() -> None:
    _check(
        vectorized.clean_person_names,
        clean_person_name,
        NAMES,
        typical=["张伟", "陳國藩", "ZHANG WEI", "Wei Zhang"],
    )


def _random_mobile() -> str:
    number = f"1{RNG.choice('3456789')}{RNG.randrange(10**9):09d}"
    return RNG.choice(
        [
            number,
            f"+86 {number[:3]} {number[3:7]} {number[7:]}",
            f"0086-{number}",
            f"86{number}",
            f"({number[:3]}){number[3:]}",
        ]
    )


PHONES = [
    "+86(0)13812345678",
    "0(0)8613812345678",
    "86(0)1381234567",
    "0086 138 1234 5678",
    "+86\t13812345678",
    "+86 138-1234-5678",
    "12812345678",
    "1381234567",
    "010-12345678",
    "+852 2123 4567",
    "１３８１２３４５６７８",
    "abc",
    None,
    *(_random_mobile() for _ in range(300)),
]


def test_cn_mobiles_agree_with_to_e164() -> None:
    _check(
        vectorized.cn_mobiles,
        to_e164,
        PHONES,
        typical=["13812345678", "+86 138 1234 5678", "0086-138-1234-5678"],
    )


EMAILS = [
    "Zhang.Wei@QQ.com",
    "li_na+crm@163.com",
    "wang@qq",
    "wang..li@qq.com",
    "mailto:chen@example.cn",
    " wang@163.com",
    "ｗａｎｇ＠１６３．ｃｏｍ",
    "wang@qq。com",
    "KELVIN\u212a@qq.com",
    None,
]


def test_emails_agree_with_normalize_email() -> None:
    _check(
        vectorized.emails,
        lambda value: normalize_email(value).address,
        EMAILS,
        typical=["Zhang.Wei@QQ.com", "li_na+crm@163.com"],
    )


AMOUNTS = [
    "1,234,567.89",
    "1234567.89",
    "-1,234.5",
    "0",
    "-0",
    "007",
    "1,23",
    "1,2345",
    ".5",
    "+5",
    "1e5",
    "12.5万",
    "(1,234.00)",
    "99999999999999999999.99",
    "0.1",
    None,
    *(f"{RNG.uniform(-1e7, 1e7):,.2f}" for _ in range(300)),
    *(f"{RNG.uniform(0, 1e7):.4f}" for _ in range(300)),
]


def test_yuan_amounts_agree_with_parse_amount() -> None:
    _check(
        vectorized.yuan_amounts,
        lambda value: parse_amount(value, "yuan"),
        AMOUNTS,
        typical=["1,234,567.89", "1234567.89", "-12"],
    )


def _to_python(moment: np.datetime64) -> dt.datetime:
    return pd.Timestamp(moment).to_pydatetime()


TIMESTAMPS = [
    "2024-04-02",
    "2024-04-02 10:30:15",
    "2024-04-02T10:30:15",
    "2024-04-02T10:30:15.250",
    "2024-04-02T10:30:15.250000",
    "2024-04-02T02:30:15Z",
    "2024-04-02T10:30:15+08:00",
    "2024-04-01T22:30:15-04:00",
    "2024-02-30",
    "2024-02-30 10:00:00",
    "2024-04-02 25:00:00",
    "0000-01-01",
    "2024/4/2 10:30",
    "20240402",
    None,
]


def test_iso_datetimes_agree_with_parse_datetime() -> None:
    handled = vectorized.iso_datetimes(_strings(TIMESTAMPS))
    assert handled.values is not None
    for value, moment, done in zip(TIMESTAMPS, handled.values, handled.mask, strict=True):
        if done:
            assert _to_python(moment) == parse_datetime(value), value
    assert handled.mask[:8].all()
    assert not handled.mask[8:11].any()  # impossible dates and times are left to report


DATES = [
    "2024-04-02",
    "20240402",
    "2024-4-2",
    "2024/4/2",
    "2024/04/02",
    "2024年4月2日",
    "1990年11月10日",
    "2024年2月30日",
    "2024/2/30",
    "2024年4月2",
    "2024.4.2",
    "19900307",
    "2024-02-29",
    "2023-02-29",
    "20230229",
    "2024-4-2",
    "1985",
    "45384",
    "0000-01-01",
    None,
]


def test_common_dates_agree_with_parse_date() -> None:
    typical = ["2024-04-02", "20240402", "2024/4/2", "2024年4月2日"]
    _check(vectorized.common_dates, parse_date, DATES, typical=typical)


def _random_resident_id() -> str:
    year = RNG.choice([RNG.randint(1900, 2030), RNG.randint(1800, 1899)])
    body = f"{RNG.randrange(10**6):06d}{year}{RNG.randint(0, 13):02d}{RNG.randint(0, 32):02d}"
    body += f"{RNG.randrange(1000):03d}"
    check = RNG.choice([ric.calc_check_digit(body + "0"), RNG.choice("0123456789Xx")])
    return body + check


RESIDENT_IDS = [
    "11010519491231002X",
    "11010519491231002x",
    "110105491231002",
    "110101********1234",
    " 11010519491231002X",
    "１１０１０５１９４９１２３１００２Ｘ",
    None,
    *(_random_resident_id() for _ in range(2000)),
]


def test_resident_ids_agree_with_normalize_resident_id() -> None:
    fast = vectorized.resident_ids(_strings(RESIDENT_IDS))
    for position, value in enumerate(RESIDENT_IDS):
        if fast.mask[position]:
            expected = normalize_resident_id(value)
            assert fast.number[position] == expected.number, value
            assert bool(fast.valid[position]) is expected.valid, value
            assert fast.birth_date[position] == expected.birth_date, value
            assert fast.gender[position] == expected.gender, value
    assert fast.mask[:2].all()
    assert not fast.mask[2:7].any()  # legacy, masked, padded and full-width ids go the slow way
    assert 0 < fast.valid.sum() < fast.mask.sum()  # both verdicts were exercised


CHINESE_NAMES = [
    "张伟",
    "陳國藩",
    "單雄信",
    "曾国藩",
    "王先生",
    "陈小姐",
    "老王",
    "欧阳修",
    "司马光",
    "张长生",
    "吕布",
    "李",
    "阿依古丽·买买提",
    "Wei Zhang",
    None,
]


@pytest.mark.parametrize("names", [CHINESE_NAMES, ["张伟"] * 3, [None, "Li"]])
def test_plain_chinese_name_keys_agree_with_name_keys(names: list[str | None]) -> None:
    fast = vectorized.plain_chinese_name_keys(_strings(names))
    for position, name in enumerate(names):
        if fast.mask[position]:
            expected = name_keys(name)
            assert not expected.is_partial
            assert fast.name_key[position] == expected.name_key, name
            assert fast.name_pinyin[position] == expected.name_pinyin, name
            assert fast.name_pinyin_sorted[position] == expected.name_pinyin_sorted, name


def test_plain_chinese_name_keys_leave_the_special_shapes() -> None:
    fast = vectorized.plain_chinese_name_keys(_strings(CHINESE_NAMES))
    handled = {name for name, done in zip(CHINESE_NAMES, fast.mask, strict=True) if done}
    assert handled == {"张伟", "陳國藩", "單雄信", "曾国藩", "吕布"}
