"""The per-row verdicts count exactly what Great Expectations counts, rule by rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from stdnum.cn import ric

from expectations.domain import (
    ExpectColumnPairValuesToAgreeOnBirthDate,
    ExpectColumnValuesToBeCnMobile,
    ExpectColumnValuesToBePlausibleBirthDate,
    ExpectColumnValuesToBeRiskLevel,
    ExpectColumnValuesToBeValidCnResidentId,
)
from expectations.report import validate_with_gx
from expectations.suites import (
    customer_segment_suite,
    customer_xref_suite,
    golden_customer_suite,
    standard_record_suite,
)
from expectations.verdicts import apply_warning_actions, failing_mask, judge, prepare_checks

# stdnum computes the check character of a full 18-character number, ignoring its last one
VALID_RID = "11010119900307777" + ric.calc_check_digit("11010119900307777" + "0")


def records(n: int = 400, seed: int = 7) -> pd.DataFrame:
    """Records with every kind of defect at random, including nulls everywhere."""
    rng = np.random.default_rng(seed)

    def pick(options: list[object]) -> list[object]:
        return [options[i] for i in rng.integers(0, len(options), n)]

    frame = pd.DataFrame(
        {
            "source_system": "branch",
            "source_record_id": pick(["1", "2", None, "3"]),
            "name_key": pick(["张伟", None, "陈丽"]),
            "full_name": pick(["张伟", None, "陈丽", "x" * 600]),
            "mobile": pick(["+8613812345678", "12345", "+861012345678", "+14155550100", None]),
            "email": pick(["a@b.cn", "not-an-email", None]),
            "id_number": pick(
                [VALID_RID, "110101199003077777", None, "110101********7777", "E12345678", "x"]
            ),
            "id_masked": pick([False, True]),
            "id_valid": pick([True, False, None]),
            "id_birth_date": pick([dt.date(1990, 3, 7), None]),
            "id_gender": pick(["M", "F", None]),
            "birth_date": pick(
                [dt.date(1990, 3, 7), dt.date(2099, 1, 1), dt.date(1850, 1, 1), None]
            ),
            "gender": pick(["M", "F", "U", "X", None]),
            "id_type": pick(["CN_RID", "CN_RID", "PASSPORT", "ALIEN", None]),
            "risk_level": pick(["C1", "C5", "C9", None]),
            "product_risk_max": pick(["R1", "R7", None]),
            "aum_cny": pick([100.0, -5.0, None, 0.0]),
            "address": pick(["北京市", None, "路" * 600]),
            "unparsed_fields": pick([None, "birth_date", "mobile email"]),
        },
        index=[f"k{i}" for i in range(n)],
    )
    return frame


def xref_sample(n: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.choice(np.array(["C000000001", None], dtype=object), n),
            "match_score": rng.choice(np.array([0.0, 0.97, 1.0, 1.2, -0.1, np.nan]), n),
        }
    )


def segment_sample(n: int = 200, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.choice(np.array(["C000000001", None], dtype=object), n),
            "segment_type": rng.choice(
                np.array(["value_tier", "vip_level", None], dtype=object), n
            ),
            "segment_value": rng.choice(np.array(["gold", None], dtype=object), n),
        }
    )


@pytest.mark.parametrize(
    ("suite_factory", "sample"),
    [
        (standard_record_suite, lambda: prepare_checks(records())),
        (golden_customer_suite, lambda: prepare_checks(records())),
        (customer_xref_suite, xref_sample),
        (customer_segment_suite, segment_sample),
    ],
)
def test_row_masks_agree_with_gx_counts(suite_factory, sample) -> None:  # type: ignore[no-untyped-def]
    frame = sample()
    suite = suite_factory()
    reports, _ = validate_with_gx({"sample": (suite, frame)}, docs_dir=None)
    gx_counts = reports[0].unexpected_counts
    ours = {e.meta["rule"]: int(failing_mask(frame, e).sum()) for e in suite.expectations}
    assert ours == gx_counts
    # every rule, so every expectation type of the suite, fails somewhere but not everywhere
    assert all(0 < count < len(frame) for count in ours.values()), ours


def test_every_expectation_has_the_meta_rows_need() -> None:
    for suite in (
        standard_record_suite(),
        golden_customer_suite(),
        customer_xref_suite(),
        customer_segment_suite(),
    ):
        for expectation in suite.expectations:
            meta = expectation.meta
            assert meta["severity"] in {"critical", "warning"}
            assert meta["rule"] and meta["message"]
            if meta["severity"] == "warning":
                assert meta["task"] in {"invalid", "incomplete"}
                assert meta["action"] in {"null", "flag"}


def test_cross_field_checks() -> None:
    frame = pd.DataFrame(
        {
            "source_record_id": ["1", "2", "3"],
            "name_key": [None, None, "王"],
            "mobile": [None, "+8613812345678", None],
            "email": [None, None, None],
            "id_type": ["CN_RID", "CN_RID", "PASSPORT"],
            "id_number": ["110101********7777", VALID_RID, "E12345678"],
            "id_masked": [True, False, False],
            "id_valid": [None, True, False],
            "gender": ["F", "U", "M"],
            "id_gender": ["M", "M", None],
        }
    )
    checks = prepare_checks(frame)
    # a masked id alone is not an identity
    assert checks["check_has_identity"].tolist() == [False, True, True]
    # only unmasked resident IDs get the resident ID rules; other types their format
    assert checks["check_resident_id"].tolist() == [None, VALID_RID, None]
    assert checks["check_other_id_valid"].tolist() == [None, None, False]
    # U never disagrees with the ID; a stated F against an ID's M does
    assert checks["check_id_gender_agrees"].tolist() == [False, None, None]


@pytest.mark.parametrize(
    ("expectation", "values", "failing"),
    [
        (
            ExpectColumnValuesToBeValidCnResidentId(column="v"),
            # right; wrong check digit; 30 February; lowercase x upper-cased by standardization
            [VALID_RID, VALID_RID[:17] + "0", "110101199002301234", None],
            [False, True, True, False],
        ),
        (
            ExpectColumnValuesToBeCnMobile(column="v"),
            ["+8613812345678", "+8612345678901", "+861012345678", "+14155550100", "12345"],
            [False, True, True, False, True],
        ),
        (
            ExpectColumnValuesToBeRiskLevel(column="v"),
            ["C1", "C5", "C6", "保守型", None],
            [False, False, True, True, False],
        ),
        (
            ExpectColumnValuesToBePlausibleBirthDate(column="v", min_age=0, max_age=120),
            [dt.date(1990, 3, 7), dt.date(1850, 1, 1), dt.date(2999, 1, 1), None],
            [False, True, True, False],
        ),
    ],
)
def test_domain_expectations_judge_values(  # type: ignore[no-untyped-def]
    expectation, values, failing
) -> None:
    frame = pd.DataFrame({"v": pd.Series(values, dtype=object)})
    assert failing_mask(frame, expectation).tolist() == failing


def test_id_birth_date_agreement_reads_the_date_inside_the_id() -> None:
    frame = pd.DataFrame(
        {
            "id": [VALID_RID, VALID_RID, VALID_RID, None],
            "born": [dt.date(1990, 3, 7), dt.date(1990, 3, 8), None, dt.date(1990, 3, 8)],
        }
    )
    rule = ExpectColumnPairValuesToAgreeOnBirthDate(column_A="id", column_B="born")
    assert failing_mask(frame, rule).tolist() == [False, True, False, False]


def test_warning_nulls_field_and_then_identity_is_judged_without_it() -> None:
    frame = pd.DataFrame(
        {
            "source_record_id": ["1"],
            "name_key": ["x" * 600],
            "full_name": ["x" * 600],
            "mobile": [None],
            "email": [None],
            "unparsed_fields": [None],
        },
        index=["k1"],
    )
    suite = standard_record_suite().expectations
    warnings = [
        e for e in suite if e.meta["severity"] == "warning" and getattr(e, "column", None) in frame
    ]
    verdicts = judge(prepare_checks(frame), warnings)
    assert [r["rule"] for r in verdicts.reasons["k1"]] == ["name_length"]
    cleaned = apply_warning_actions(frame, verdicts)
    assert pd.isna(cleaned.at["k1", "full_name"])


def test_unparsed_fields_become_one_reason_each() -> None:
    frame = pd.DataFrame({"unparsed_fields": ["birth_date mobile", None]}, index=["a", "b"])
    (rule,) = [e for e in standard_record_suite().expectations if e.meta["rule"] == "parseable"]
    verdicts = judge(frame, [rule])
    assert [r["field"] for r in verdicts.reasons["a"]] == ["birth_date", "mobile"]
    assert "b" not in verdicts.reasons


def test_data_docs_show_counts_but_never_the_failing_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    frame = prepare_checks(records())
    frame["mobile"] = frame["mobile"].replace("12345", "+86 139 0000 1111 bad")
    frame["email"] = frame["email"].replace("not-an-email", "wang.fang.secret@@example.cn")
    _, index = validate_with_gx({"sample": (standard_record_suite(), frame)}, docs_dir=tmp_path)
    assert index is not None and index.is_file()
    pages = [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.html")]
    assert any("expect_column_values_to_match_regex" in p or "match" in p for p in pages)
    for page in pages:
        assert "139 0000 1111" not in page
        assert "wang.fang.secret" not in page


def test_data_docs_of_a_large_run_come_from_a_sample(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import flows.validate

    monkeypatch.setattr(flows.validate, "DOCS_SAMPLE_ROWS", 100)
    frame = records(n=400)
    assert flows.validate.build_data_docs.fn(frame, None) == []  # no page asked: no GX run
    (report,) = flows.validate.build_data_docs.fn(frame, tmp_path)
    assert report.suite == "standard_record_sample"
    assert sum(report.unexpected_counts.values()) > 0
    assert max(report.unexpected_counts.values()) <= 100
    assert (tmp_path / "index.html").is_file()
