"""Coded fields: gender, risk levels, booleans, list flags and id types.

Each parser returns the canonical code, or None when the value says nothing it recognises.
Lookups run on a folded key (NFKC, lowercase, no spaces or dashes), so 保守 型 and
ＣＯＮＳＥＲＶＡＴＩＶＥ match too.
"""

from __future__ import annotations

import re
from typing import Any

from mdm.schema import NATIONAL_ID_TYPES
from mdm.standardize.text import clean_text

# GB/T 2261.1 codes: 1 male, 2 female, 0 unknown, 9 not stated.
_GENDERS: dict[str, str] = {
    **dict.fromkeys(("男", "男性", "m", "male", "man", "1", "先生"), "M"),
    **dict.fromkeys(("女", "女性", "f", "female", "woman", "2", "女士"), "F"),
    **dict.fromkeys(("u", "unknown", "未知", "不详", "未说明", "0", "9"), "U"),
}

# Bank five-level scale of SPEC §2 (保守 稳健 平衡 成长 进取) plus the words of the CSRC
# suitability scale that do not clash with it (谨慎 and 相对保守 C2, 积极 and 相对积极 C4,
# 激进 C5), and English. Longer words first, so 相对保守 is not read as 保守.
_RISK_LEVEL_WORDS: tuple[tuple[str, str], ...] = (
    ("相对保守", "C2"),
    ("相对积极", "C4"),
    ("保守", "C1"),
    ("谨慎", "C2"),
    ("稳健", "C2"),
    ("平衡", "C3"),
    ("成长", "C4"),
    ("积极", "C4"),
    ("进取", "C5"),
    ("激进", "C5"),
    ("moderatelyconservative", "C2"),
    ("moderatelyaggressive", "C4"),
    ("conservative", "C1"),
    ("cautious", "C2"),
    ("balanced", "C3"),
    ("moderate", "C3"),
    ("growth", "C4"),
    ("aggressive", "C5"),
)
_RISK_LEVEL_CODE = re.compile(r"(?<![a-z0-9])c?([1-5])(?![0-9])")

_PRODUCT_RISK_WORDS: tuple[tuple[str, str], ...] = (
    ("中低", "R2"),
    ("较低", "R2"),
    ("中高", "R4"),
    ("较高", "R4"),
    ("低", "R1"),
    ("中", "R3"),
    ("高", "R5"),
    ("mediumlow", "R2"),
    ("lowmedium", "R2"),
    ("mediumhigh", "R4"),
    ("highmedium", "R4"),
    ("low", "R1"),
    ("medium", "R3"),
    ("high", "R5"),
)
# R1..R5, and the PR1..PR5 that bank wealth products use.
_PRODUCT_RISK_CODE = re.compile(r"(?<![a-z0-9])(?:p?r)?([1-5])(?![0-9])")

_BOOLEANS: dict[str, bool] = {
    **dict.fromkeys(
        ("是", "true", "t", "y", "yes", "1", "同意", "已同意", "允许", "√", "on"), True
    ),
    **dict.fromkeys(
        ("否", "false", "f", "n", "no", "0", "不同意", "未同意", "拒绝", "×", "off"), False
    ),
}

_LIST_FLAGS: dict[str, str] = {
    **dict.fromkeys(("red", "红名单", "红", "redlist"), "red"),
    **dict.fromkeys(("black", "黑名单", "黑", "blacklist"), "black"),
}
# Values that say "on no list": absent, but not unparseable.
NO_LIST_FLAG_WORDS: frozenset[str] = frozenset({"无", "正常", "普通", "否", "none", "normal", "0"})

# Checked in order: 外国人永久居留身份证 contains 身份证, 台湾居民来往大陆通行证 contains 通行证.
_NATIONAL_ID_CODES = {code.lower().replace("_", ""): code for code in NATIONAL_ID_TYPES}
_ID_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    ("永久居留", "FOREIGN_PR"),
    ("foreignpr", "FOREIGN_PR"),
    ("台胞", "TW_PERMIT"),
    ("台湾", "TW_PERMIT"),
    ("twpermit", "TW_PERMIT"),
    ("港澳", "HKMO_PERMIT"),
    ("回乡", "HKMO_PERMIT"),
    ("hkmopermit", "HKMO_PERMIT"),
    ("护照", "PASSPORT"),
    ("passport", "PASSPORT"),
    ("身份证", "CN_RID"),
    ("cnrid", "CN_RID"),
    ("idcard", "CN_RID"),
    ("residentid", "CN_RID"),
)


def parse_gender(value: Any) -> str | None:
    """M / F / U (explicitly unknown: 未知, 0, 9); None when empty or not recognised."""
    return _GENDERS.get(_fold(value))


def parse_risk_level(value: Any) -> str | None:
    """Customer risk tolerance C1..C5 from codes (C3, 3, "C3-平衡型") or words (平衡型)."""
    key = _fold(value)
    code = _RISK_LEVEL_CODE.search(key)
    if code:
        return "C" + code.group(1)
    return _first_word_match(key, _RISK_LEVEL_WORDS)


def parse_product_risk(value: Any) -> str | None:
    """Product risk R1..R5 from codes (R3, PR3, 3) or words (中风险, 中低风险, medium-high)."""
    key = _fold(value)
    code = _PRODUCT_RISK_CODE.search(key)
    if code:
        return "R" + code.group(1)
    return _first_word_match(key, _PRODUCT_RISK_WORDS)


def parse_bool(value: Any) -> bool | None:
    """True/False from 是/否, true/false, Y/N, yes/no, 1/0, 同意/不同意; None otherwise."""
    if isinstance(value, bool):
        return value
    return _BOOLEANS.get(_fold(value))


def parse_list_flag(value: Any) -> str | None:
    """The list a customer is on: red (priority watch list) or black (do not serve)."""
    return _LIST_FLAGS.get(_fold(value))


def parse_id_type(value: Any) -> str | None:
    """CN_RID, PASSPORT, HKMO_PERMIT, TW_PERMIT, FOREIGN_PR, a national identity number named
    by its code (ES_DNI, FR_NIR …: mdm.standardize.ids.NATIONAL_IDS), or OTHER for any other
    document (军官证, 居住证 …); None only when empty."""
    key = _fold(value)
    if not key:
        return None
    return _NATIONAL_ID_CODES.get(key) or _first_word_match(key, _ID_TYPE_WORDS) or "OTHER"


def _fold(value: Any) -> str:
    text = clean_text(value)
    if text is None:
        return ""
    return text.lower().replace(" ", "").replace("-", "").replace("_", "")


def _first_word_match(key: str, words: tuple[tuple[str, str], ...]) -> str | None:
    if not key:
        return None
    return next((code for word, code in words if word in key), None)
