"""Custom Great Expectations for the rules of Chinese customer data, so suites read in domain terms.

Each rule is one vectorized function over a column's non-null values (`*_ok` below). GX calls it
through a metric provider to count unexpected rows and render Data Docs; `verdicts.py` calls the
very same function for per-row verdicts, so the two can never count differently.
GX hands map metrics only the non-null values: a missing value never fails these rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    ColumnPairMapMetricProvider,
    column_condition_partial,
    column_pair_condition_partial,
)

from mdm.schema import RISK_LEVELS
from mdm.standardize.ids import rid_check_codes

_RESIDENT_ID_SHAPE = r"[0-9]{17}[0-9X]"
# +86 numbers must be mainland mobiles (1[3-9] and nine digits); others any E.164 number.
_CN_MOBILE_OR_FOREIGN = r"\+861[3-9][0-9]{9}|\+(?!86)[1-9][0-9]{6,14}"


def _text(column: pd.Series) -> pd.Series:
    return column.astype(object).astype(str)


def _dates(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column, errors="coerce")


def resident_id_ok(column: pd.Series) -> pd.Series:
    """18 characters, a real birth date in positions 7-14, and the right check character."""
    text = _text(column).str.upper()
    ok = text.str.fullmatch(_RESIDENT_ID_SHAPE).fillna(False).to_numpy(dtype=bool).copy()
    if ok.any():
        chars = np.frombuffer("".join(text[ok]).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
        digits = (chars[:, :17] - ord("0")).astype(np.int64)
        check_ok = rid_check_codes(digits) == chars[:, 17]
        born = pd.to_datetime(text[ok].str[6:14], format="%Y%m%d", errors="coerce")
        real_date = (born.dt.year >= 1900).to_numpy() & (born <= pd.Timestamp.now()).to_numpy()
        ok[ok] = check_ok & real_date
    return pd.Series(ok, index=column.index)


def id_birth_date_ok(resident_id: pd.Series, birth_date: pd.Series) -> pd.Series:
    """The stated birth date is the one a resident ID encodes; an ID too broken to encode one
    is the check digit rule's business, not this one's."""
    # Compared as timestamps: year 0000 parses (datetime64 reaches it) but is no Python date,
    # and an ID that garbles its birth digits into 0000MMDD must fail a rule, not the run. A
    # year before 1900 encodes no birth date (resident_id_ok's rule, as for a broken one).
    encoded = pd.to_datetime(_text(resident_id).str[6:14], format="%Y%m%d", errors="coerce")
    encoded = encoded.where(encoded.dt.year >= 1900)
    stated = _dates(birth_date)
    agree = encoded.dt.normalize() == stated.dt.normalize()
    return agree | encoded.isna() | stated.isna()


def cn_mobile_ok(column: pd.Series) -> pd.Series:
    return _text(column).str.fullmatch(_CN_MOBILE_OR_FOREIGN).fillna(False).astype(bool)


def plausible_age_ok(column: pd.Series, min_age: float, max_age: float) -> pd.Series:
    """Age in years on today's date within [min_age, max_age]; an unreadable date fails."""
    age = (pd.Timestamp(dt.date.today()) - _dates(column)).dt.days / 365.25
    return (age >= min_age) & (age <= max_age)


def risk_level_ok(column: pd.Series) -> pd.Series:
    return column.isin(RISK_LEVELS)


# ---------------------------------------------------------------- metrics GX computes


class ColumnValuesCnResidentIdValid(ColumnMapMetricProvider):
    condition_metric_name = "column_values.cn_resident_id_valid"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return resident_id_ok(column)


class ColumnPairValuesIdBirthDateAgree(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.id_birth_date_agree"

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A: pd.Series, column_B: pd.Series, **kwargs: Any) -> pd.Series:
        return id_birth_date_ok(column_A, column_B)


class ColumnValuesCnMobile(ColumnMapMetricProvider):
    condition_metric_name = "column_values.cn_mobile"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return cn_mobile_ok(column)


class ColumnValuesPlausibleAge(ColumnMapMetricProvider):
    condition_metric_name = "column_values.plausible_age"
    condition_value_keys = ("min_age", "max_age")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, min_age: float, max_age: float, **kwargs: Any) -> pd.Series:
        return plausible_age_ok(column, min_age, max_age)


class ColumnValuesRiskLevel(ColumnMapMetricProvider):
    condition_metric_name = "column_values.risk_level"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: Any) -> pd.Series:
        return risk_level_ok(column)


# ---------------------------------------------------------------- the expectations


class DomainColumnExpectation(ColumnMapExpectation):
    """A column rule of this module: `values_ok` judges non-null values, for GX and verdicts."""

    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)

    def values_ok(self, values: pd.Series) -> pd.Series:
        raise NotImplementedError


class ExpectColumnValuesToBeValidCnResidentId(DomainColumnExpectation):
    """Resident ID numbers (居民身份证) are well formed: 18 characters, a real birth date and
    the ISO 7064 MOD 11-2 check character."""

    map_metric: ClassVar[str] = "column_values.cn_resident_id_valid"

    def values_ok(self, values: pd.Series) -> pd.Series:
        return resident_id_ok(values)


class ExpectColumnValuesToBeCnMobile(DomainColumnExpectation):
    """Phones (E.164) with country code +86 are mainland mobiles, 1[3-9] and nine digits."""

    map_metric: ClassVar[str] = "column_values.cn_mobile"

    def values_ok(self, values: pd.Series) -> pd.Series:
        return cn_mobile_ok(values)


class ExpectColumnValuesToBePlausibleBirthDate(DomainColumnExpectation):
    """Birth dates give an age, today, between min_age and max_age years."""

    min_age: float = 0
    max_age: float = 120
    map_metric: ClassVar[str] = "column_values.plausible_age"
    success_keys: ClassVar[tuple[str, ...]] = ("min_age", "max_age", "mostly")

    def values_ok(self, values: pd.Series) -> pd.Series:
        return plausible_age_ok(values, self.min_age, self.max_age)


class ExpectColumnValuesToBeRiskLevel(DomainColumnExpectation):
    """Risk tolerance levels are C1 (conservative) .. C5 (aggressive)."""

    map_metric: ClassVar[str] = "column_values.risk_level"

    def values_ok(self, values: pd.Series) -> pd.Series:
        return risk_level_ok(values)


class ExpectColumnPairValuesToAgreeOnBirthDate(ColumnPairMapExpectation):
    """The birth date a resident ID (column_A) encodes is the stated birth date (column_B)."""

    map_metric: ClassVar[str] = "column_pair_values.id_birth_date_agree"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    # GX passes only domain keys to the metric; without this, ignore_row_if never reaches it.
    domain_keys: ClassVar[tuple[str, ...]] = (  # type: ignore[assignment]  # GX: exactly five
        *ColumnPairMapExpectation.domain_keys,
        "ignore_row_if",
    )
    ignore_row_if: str = "either_value_is_missing"

    def pairs_ok(self, resident_id: pd.Series, birth_date: pd.Series) -> pd.Series:
        return id_birth_date_ok(resident_id, birth_date)


def row_failures(frame: pd.DataFrame, expectation: object) -> pd.Series | None:
    """Rows failing one of this module's expectations, as GX counts them; None for other types."""
    if isinstance(expectation, DomainColumnExpectation):
        column = frame[expectation.column]
        present = column.notna()
        failing = pd.Series(False, index=frame.index)
        failing[present] = ~expectation.values_ok(column[present]).to_numpy(dtype=bool)
        return failing
    if isinstance(expectation, ExpectColumnPairValuesToAgreeOnBirthDate):
        left, right = frame[expectation.column_A], frame[expectation.column_B]
        both = left.notna() & right.notna()
        failing = pd.Series(False, index=frame.index)
        failing[both] = ~expectation.pairs_ok(left[both], right[both]).to_numpy(dtype=bool)
        return failing
    return None
