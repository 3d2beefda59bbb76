"""The per-row verdicts count exactly what Great Expectations counts, rule by rule."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from expectations.report import validate_with_gx
from expectations.suites import golden_customer_suite, standard_record_suite
from expectations.verdicts import apply_warning_actions, failing_mask, judge, prepare_checks


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
            "mobile": pick(["+8613812345678", "12345", None]),
            "email": pick(["a@b.cn", "not-an-email", None]),
            "id_number": pick(["110101199003077777", None, "110101********7777"]),
            "id_masked": pick([False, True]),
            "id_valid": pick([True, False, None]),
            "id_birth_date": pick([dt.date(1990, 3, 7), None]),
            "id_gender": pick(["M", "F", None]),
            "birth_date": pick(
                [dt.date(1990, 3, 7), dt.date(2099, 1, 1), dt.date(1850, 1, 1), None]
            ),
            "gender": pick(["M", "F", "U", "X", None]),
            "id_type": pick(["CN_RID", "PASSPORT", "ALIEN", None]),
            "risk_level": pick(["C1", "C5", "C9", None]),
            "product_risk_max": pick(["R1", "R7", None]),
            "aum_cny": pick([100.0, -5.0, None, 0.0]),
            "address": pick(["北京市", None]),
            "unparsed_fields": pick([None, "birth_date", "mobile email"]),
        },
        index=[f"k{i}" for i in range(n)],
    )
    return frame


@pytest.mark.parametrize("suite_factory", [standard_record_suite, golden_customer_suite])
def test_row_masks_agree_with_gx_counts(suite_factory) -> None:  # type: ignore[no-untyped-def]
    frame = prepare_checks(records(), today=dt.date(2026, 11, 22))
    suite = suite_factory()
    reports, _ = validate_with_gx({"sample": (suite, frame)}, docs_dir=None)
    gx_counts = reports[0].unexpected_counts
    ours = {e.meta["rule"]: int(failing_mask(frame, e).sum()) for e in suite.expectations}
    assert ours == gx_counts
    assert sum(ours.values()) > 0  # the sample exercises the rules


def test_every_expectation_has_the_meta_rows_need() -> None:
    for suite in (standard_record_suite(), golden_customer_suite()):
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
            "id_number": ["110101********7777", None, None],
            "id_masked": [True, False, False],
            "id_valid": [None, None, None],
            "birth_date": [dt.date(1990, 3, 7), dt.date(1990, 3, 8), None],
            "id_birth_date": [dt.date(1990, 3, 7), dt.date(1990, 3, 7), None],
            "gender": ["F", "U", "M"],
            "id_gender": ["M", "M", None],
        }
    )
    checks = prepare_checks(frame, today=dt.date(2026, 1, 1))
    # a masked id alone is not an identity
    assert checks["check_has_identity"].tolist() == [False, True, True]
    assert checks["check_id_birth_agrees"].tolist() == [True, False, None]
    # U never disagrees with the ID; a stated F against an ID's M does
    assert checks["check_id_gender_agrees"].tolist() == [False, None, None]
    assert round(checks["check_age_years"].iloc[0]) == 36


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
    warnings = [e for e in suite if e.meta["severity"] == "warning" and e.column in frame]
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
    frame = prepare_checks(records(), today=dt.date(2026, 11, 22))
    frame["mobile"] = frame["mobile"].replace("12345", "+86 139 0000 1111 bad")
    frame["email"] = frame["email"].replace("not-an-email", "wang.fang.secret@@example.cn")
    _, index = validate_with_gx({"sample": (standard_record_suite(), frame)}, docs_dir=tmp_path)
    assert index is not None and index.is_file()
    pages = [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.html")]
    assert any("expect_column_values_to_match_regex" in p or "match" in p for p in pages)
    for page in pages:
        assert "139 0000 1111" not in page
        assert "wang.fang.secret" not in page
