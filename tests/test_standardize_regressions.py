"""Regressions from issue 12 (rows 5, 11, 13) and issue 16 (points 4, 5): real-world variants
that standardization got wrong."""

from __future__ import annotations

import pandas as pd
import pytest

from mdm.standardize import standardize_frame
from mdm.standardize.ids import normalize_id
from mdm.standardize.names import clean_person_name
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
