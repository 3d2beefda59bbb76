"""Phones, e-mails and id numbers (mdm.standardize.phones, .emails, .ids)."""

from __future__ import annotations

import datetime as dt

import pytest

from mdm.schema import NATIONAL_ID_TYPES
from mdm.standardize.codes import parse_id_type
from mdm.standardize.emails import Email, normalize_email
from mdm.standardize.ids import (
    CHECKED_ID_TYPES,
    NATIONAL_IDS,
    NormalizedId,
    birth_date_from_digits,
    normalize_id,
    normalize_resident_id,
)
from mdm.standardize.phones import is_cn_mobile, to_e164


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),  # app: +86 with spaces
        ("0086-138-1234-5678", "+8613812345678"),  # call center: 0086 and dashes
        ("0086 13812345678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("(+86) 138-1234-5678", "+8613812345678"),
        ("138.1234.5678", "+8613812345678"),
        ("１３８１２３４５６７８", "+8613812345678"),  # full-width digits
        (13812345678.0, "+8613812345678"),  # a spreadsheet number
        ("19912345678", "+8619912345678"),  # newer ranges count as mobiles
        ("010-12345678", "+861012345678"),  # Beijing landline
        ("0755 8888 8888", "+8675588888888"),  # Shenzhen landline
        ("(0755)88888888", "+8675588888888"),
        ("+86 (0)10 1234 5678", "+861012345678"),  # trunk prefix written in
        ("+852 2123 4567", "+85221234567"),  # Hong Kong
        ("00852 2123 4567", "+85221234567"),
        ("+1 415 555 2671", "+14155552671"),
        ("12812345678", None),  # 12x is no mobile range
        ("1381234567", None),  # one digit short
        ("8888 8888", None),  # no area code: cannot be placed
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_to_e164(raw: object, e164: str | None) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize(
    ("e164", "mobile"),
    [("+8613812345678", True), ("+861012345678", False), ("+14155552671", False), (None, False)],
)
def test_is_cn_mobile(e164: str | None, mobile: bool) -> None:
    assert is_cn_mobile(e164) is mobile


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        ("Zhang.Wei@QQ.com", Email("zhang.wei@qq.com", True)),
        ("  li_na+crm@163.com ", Email("li_na+crm@163.com", True)),
        ("ｗａｎｇ＠１６３．ｃｏｍ", Email("wang@163.com", True)),  # full-width
        ("mailto:chen@example.com.cn", Email("chen@example.com.cn", True)),
        ("<chen@example.cn>", Email("chen@example.cn", True)),
        ("wang@qq。com", Email("wang@qq.com", True)),  # ideographic full stop for a dot
        ("wang@qq", Email(None, False)),
        ("wang qq.com", Email(None, False)),
        ("wang@@qq.com", Email(None, False)),
        ("wang..li@qq.com", Email(None, False)),
        ("@qq.com", Email(None, False)),
        ("", Email(None, None)),
        (None, Email(None, None)),
    ],
)
def test_normalize_email(raw: object, email: Email) -> None:
    assert normalize_email(raw) == email


def _rid(
    number: str | None,
    valid: bool | None,
    birth: dt.date | None = None,
    gender: str | None = None,
    *,
    masked: bool | None = False,
) -> NormalizedId:
    return NormalizedId("CN_RID", number, valid, masked, birth, gender)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("360426199101010071", _rid("360426199101010071", True, dt.date(1991, 1, 1), "M")),
        ("11010519491231002X", _rid("11010519491231002X", True, dt.date(1949, 12, 31), "F")),
        # lowercase x from the branch system
        ("11010519491231002x", _rid("11010519491231002X", True, dt.date(1949, 12, 31), "F")),
        # legacy 15-digit card: 19 inserted, check character computed
        ("110105491231002", _rid("11010519491231002X", True, dt.date(1949, 12, 31), "F")),
        (
            "１１０１０５１９４９１２３１００２Ｘ",
            _rid("11010519491231002X", True, dt.date(1949, 12, 31), "F"),
        ),
        (" 1101 0519 4912 3100 2X ", _rid("11010519491231002X", True, dt.date(1949, 12, 31), "F")),
        ("110101200002290018", _rid("110101200002290018", True, dt.date(2000, 2, 29), "M")),
        # a wrong check character: invalid, but birth date and gender are still read
        ("440305199003071235", _rid("440305199003071235", False, dt.date(1990, 3, 7), "M")),
        # right check character, impossible dates: invalid
        ("110101199002300014", _rid("110101199002300014", False, None, "M")),
        ("110101190013010011", _rid("110101190013010011", False, None, "M")),
        ("11010118991231001X", _rid("11010118991231001X", False, None, "M")),  # before 1900
        ("11010121000101001X", _rid("11010121000101001X", False, None, "M")),  # future
        ("1101051949123100", _rid("1101051949123100", False)),  # wrong length
        ("E12345678", _rid("E12345678", False)),
        # masked numbers are kept as written and are not identifiers
        ("110101********1234", _rid("110101********1234", None, None, "M", masked=True)),
        ("110101XXXXXXXX1234", _rid("110101XXXXXXXX1234", None, None, "M", masked=True)),
        ("1101011990******1X", _rid("1101011990******1X", None, None, "M", masked=True)),
        (
            "11010119900307****",
            _rid("11010119900307****", None, dt.date(1990, 3, 7), None, masked=True),
        ),
        ("", _rid(None, None, masked=None)),
        (None, _rid(None, None, masked=None)),
    ],
)
def test_normalize_resident_id(raw: object, expected: NormalizedId) -> None:
    assert normalize_resident_id(raw) == expected


@pytest.mark.parametrize(
    ("id_type", "raw", "number", "valid"),
    [
        ("PASSPORT", "e1234 5678", "E12345678", True),
        ("PASSPORT", "G-12345678", "G12345678", True),
        ("PASSPORT", "ABC", "ABC", False),
        ("HKMO_PERMIT", "H12345678", "H12345678", True),
        ("HKMO_PERMIT", "H1234567890", "H1234567890", True),
        ("HKMO_PERMIT", "C12345678", "C12345678", True),
        ("HKMO_PERMIT", "12345678", "12345678", False),
        ("TW_PERMIT", "12345678", "12345678", True),
        ("TW_PERMIT", "1234567890(B)", "1234567890B", True),
        ("TW_PERMIT", "T1234", "T1234", False),
        ("FOREIGN_PR", "USA123456789012", "USA123456789012", True),
        ("FOREIGN_PR", "123", "123", False),
        ("OTHER", "军字第123号", "123", None),  # no format to check
        # national identity numbers, checked by python-stdnum
        ("ES_DNI", "12345678-z", "12345678Z", True),
        ("ES_DNI", "12345678", "12345678", False),  # the check letter left off
        ("ES_DNI", "12345679Z", "12345679Z", False),  # a digit mistyped
        ("ES_NIE", "x-1234567-l", "X1234567L", True),
        ("FR_NIR", "2 69 05 49 588 157 80", "269054958815780", True),
        ("US_SSN", "536-90-4399", "536904399", True),
    ],
)
def test_normalize_id_other_documents(
    id_type: str, raw: str, number: str, valid: bool | None
) -> None:
    normalized = normalize_id(id_type, raw)
    assert (normalized.id_type, normalized.number, normalized.valid) == (id_type, number, valid)
    assert normalized.masked is False
    assert normalized.birth_date is None


@pytest.mark.parametrize(
    ("written", "id_type"),
    [("ES_DNI", "ES_DNI"), ("es-dni", "ES_DNI"), ("fr_nir", "FR_NIR"), ("DNI", "OTHER")],
)
def test_national_id_types_are_named_by_their_code(written: str, id_type: str) -> None:
    assert parse_id_type(written) == id_type


def test_every_national_id_type_has_its_validator() -> None:
    assert set(NATIONAL_IDS) == set(NATIONAL_ID_TYPES)
    assert {"CN_RID", "ES_DNI", "FR_NIR"} <= CHECKED_ID_TYPES
    assert "US_SSN" not in CHECKED_ID_TYPES  # no check digit: never a veto


def test_normalize_id_dispatches_resident_ids() -> None:
    assert normalize_id("CN_RID", "110105491231002") == normalize_resident_id("110105491231002")


@pytest.mark.parametrize(
    ("raw", "id_type", "valid"),
    [
        ("11010519491231002x", "CN_RID", True),  # untyped but shaped like a resident id
        ("110105491231002", "CN_RID", True),
        ("110101********1234", "CN_RID", None),
        ("E12345678", None, None),  # untyped and not a resident id: no claim either way
    ],
)
def test_normalize_id_infers_resident_id_without_type(
    raw: str, id_type: str | None, valid: bool | None
) -> None:
    normalized = normalize_id(None, raw)
    assert (normalized.id_type, normalized.valid) == (id_type, valid)


def test_masked_passport_is_not_an_identifier() -> None:
    assert normalize_id("PASSPORT", "E1234****") == NormalizedId(
        "PASSPORT", "E1234****", None, True, None, None
    )


@pytest.mark.parametrize(
    ("digits", "date"),
    [("19900307", dt.date(1990, 3, 7)), ("19900230", None), ("18991231", None), ("2x000101", None)],
)
def test_birth_date_from_digits(digits: str, date: dt.date | None) -> None:
    assert birth_date_from_digits(digits) == date
