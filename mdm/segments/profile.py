"""The per-customer inputs of every segment rule, as plain numeric columns.

`roll_up` turns transactions into per-customer activity; `build_profile` joins it with the golden
fields, so the rules in rules.py are comparisons of numpy columns and never loop over customers.
Days are whole days before the run date (`as_of`); unknown values are NaN.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

YEAR_DAYS = 365
HALF_YEAR_DAYS = 182
ACTIVITY_COLUMNS = (
    "first_txn_days",
    "last_txn_days",
    "last_txn_at",
    "txn_count_12m",
    "txn_amount_12m_cny",
    "txn_count_quiet",  # within churn_warning.quiet_days
    "txn_count_before_quiet",  # in the 12 months before that
    "amount_recent_half",  # last 6 months
    "amount_earlier_half",  # the 6 months before
    "txn_product_risk",
)


def product_prefix_column(prefix: str) -> str:
    return f"bought:{prefix}"


def roll_up(
    transactions: pd.DataFrame,
    *,
    as_of: dt.date,
    quiet_days: int,
    product_prefixes: tuple[str, ...],
) -> pd.DataFrame:
    """Per customer_id: recency, counts and amounts of its transactions, and what it bought.

    `transactions` has customer_id, txn_at (datetime64), amount_cny, product_code, product_risk
    (1-5 or NaN). Transactions after the run date are ignored: they have not happened yet.
    Customers are factorized to integer codes so every sum and extreme is one numpy reduction:
    the aggregates of partial_activity with a group per customer.
    """
    owner, customers = pd.factorize(transactions["customer_id"])
    window = ActivityWindow(as_of, quiet_days, product_prefixes)
    partials = partial_activity(transactions, owner, len(customers), window)
    return activity_of(partials, pd.Index(customers, name="customer_id"))


# roll_up's aggregates, each one that partial aggregates of disjoint sets of rows combine into
# (a sum, a count, an extreme, an any), kept apart per group of rows (a feed's ref_key) until the
# groups' customers are known. `rows` counts every row, `past_rows` those on or before as_of.
_SUMMED = (
    "rows",
    "past_rows",
    "txn_count_12m",
    "txn_amount_12m_cny",
    "txn_count_quiet",
    "txn_count_before_quiet",
    "amount_recent_half",
    "amount_earlier_half",
)
_LATEST = ("first_days", "last_at")  # maxima; last_days is a minimum, risk an fmax
_NO_DAYS = np.iinfo(np.int64).max
_NO_TIME = np.iinfo(np.int64).min


@dataclass(frozen=True)
class ActivityWindow:
    """What roll_up measures transactions against: the run date, churn_warning's quiet days
    and the campaigns' product prefixes. All known before a run reads its feeds."""

    as_of: dt.date
    quiet_days: int
    product_prefixes: tuple[str, ...]


def partial_activity(
    transactions: pd.DataFrame, group: np.ndarray, groups: int, window: ActivityWindow
) -> pd.DataFrame:
    """roll_up's aggregates per group of rows (`group`: each row's code, 0 to groups - 1):
    what combine_activity turns into the roll-up of any union of groups. Every row is
    measured exactly as roll_up measures it; a group's sums add its rows in their order."""
    txn_at = pd.to_datetime(transactions["txn_at"]).to_numpy(dtype="datetime64[s]")
    as_of = np.datetime64(window.as_of, "D")
    days_all = (as_of - txn_at.astype("datetime64[D]")).astype(np.int64)
    past = days_all >= 0
    owner, days, when = group[past], days_all[past], txn_at[past].astype(np.int64)
    amount = np.abs(pd.to_numeric(transactions["amount_cny"], errors="coerce").to_numpy(float))
    amount = np.nan_to_num(amount[past])
    risk = pd.to_numeric(transactions["product_risk"], errors="coerce").to_numpy(float)[past]

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(owner[mask], minlength=groups)

    def total(mask: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=np.where(mask, amount, 0.0), minlength=groups)

    in_year = days < YEAR_DAYS
    quiet = window.quiet_days
    first_days = np.full(groups, -1, dtype=np.int64)
    np.maximum.at(first_days, owner, days)
    last_days = np.full(groups, _NO_DAYS, dtype=np.int64)
    np.minimum.at(last_days, owner, days)
    last_at = np.full(groups, _NO_TIME, dtype=np.int64)
    np.maximum.at(last_at, owner, when)
    highest_risk = np.full(groups, np.nan)
    np.fmax.at(highest_risk, owner, risk)
    partial = pd.DataFrame(
        {
            "rows": np.bincount(group, minlength=groups),
            "past_rows": count(np.ones(len(owner), dtype=bool)),
            "first_days": first_days,
            "last_days": last_days,
            "last_at": last_at,
            "txn_count_12m": count(in_year),
            "txn_amount_12m_cny": total(in_year),
            "txn_count_quiet": count(days < quiet),
            "txn_count_before_quiet": count((days >= quiet) & (days < quiet + YEAR_DAYS)),
            "amount_recent_half": total(days < HALF_YEAR_DAYS),
            "amount_earlier_half": total((days >= HALF_YEAR_DAYS) & in_year),
            "txn_product_risk": highest_risk,
        }
    )
    product, products = pd.factorize(transactions["product_code"])
    for prefix in window.product_prefixes:
        matches = _matching(products, prefix)
        bought = np.append(matches, False)[product[past]]  # code -1 (no product) never matches
        partial[product_prefix_column(prefix)] = count(bought) > 0
    return partial


def combine_activity(partials: pd.DataFrame, owner: np.ndarray, owners: int) -> pd.DataFrame:
    """Partial aggregates (partial_activity's) combined per owner (`owner`: each partial's
    code, 0 to owners - 1), as partial aggregates again. Sums add in the partials' order."""
    combined = {}
    for column in partials.columns:
        values = partials[column].to_numpy()
        if column in _SUMMED and values.dtype.kind == "f":
            combined[column] = np.bincount(owner, weights=values, minlength=owners)
            continue
        if column in _SUMMED:  # counts: added as integers
            counted = np.zeros(owners, dtype=values.dtype)
            np.add.at(counted, owner, values)
            combined[column] = counted
            continue
        if column.startswith("bought:"):
            bought = np.zeros(owners, dtype=bool)
            np.logical_or.at(bought, owner, values)
            combined[column] = bought
            continue
        reduce, start = {
            "last_days": (np.minimum, _NO_DAYS),
            "txn_product_risk": (np.fmax, np.nan),
        }.get(column, (np.maximum, -1 if column == "first_days" else _NO_TIME))
        extreme = np.full(owners, start, dtype=values.dtype)
        reduce.at(extreme, owner, values)
        combined[column] = extreme
    return pd.DataFrame(combined)


def activity_of(partials: pd.DataFrame, owners: pd.Index) -> pd.DataFrame:
    """roll_up's frame from partial aggregates of its customers (`owners`, in its order):
    those with a transaction on or before the run date."""
    result = pd.DataFrame(
        {
            "first_txn_days": partials["first_days"].to_numpy().astype(float),
            "last_txn_days": partials["last_days"].to_numpy().astype(float),
            "last_txn_at": partials["last_at"].to_numpy().astype("datetime64[s]"),
            **{
                column: partials[column].to_numpy()
                for column in partials.columns
                if column not in (*_LATEST, "last_days", "rows", "past_rows")
            },
        },
        index=owners,
    )
    return result[partials["past_rows"].to_numpy() > 0]


def _matching(products: Any, prefix: str) -> np.ndarray:
    """Whether each distinct product code starts with `prefix`, in any case; boolean even for
    no codes at all (a feed whose rows name no product)."""
    return np.array([str(c).upper().startswith(prefix.upper()) for c in products], dtype=bool)


def _level(codes: pd.Series) -> np.ndarray:
    """C3 / R3 -> 3.0; anything else NaN. Parsed once per distinct code."""
    positions, distinct = pd.factorize(codes)
    levels = pd.Series(distinct, dtype="string").str.extract(r"^[CR]([1-5])$", expand=False)
    numbers = np.append(pd.to_numeric(levels, errors="coerce").to_numpy(dtype=float), np.nan)
    return numbers[positions]


def ages(birth_date: pd.Series, birth_year: pd.Series, as_of: dt.date) -> np.ndarray:
    """Whole years on the run date (a birthday on the run date counts); birth year alone: the
    age reached this calendar year."""
    born = pd.to_datetime(birth_date, errors="coerce")
    not_yet = (born.dt.month > as_of.month) | (
        (born.dt.month == as_of.month) & (born.dt.day > as_of.day)
    )
    exact = as_of.year - born.dt.year - not_yet.astype(float)
    year = pd.to_numeric(birth_year, errors="coerce").astype("float64")  # Int64 has no NaN
    by_year = as_of.year - year.to_numpy(dtype=float, na_value=np.nan)
    exact_years = exact.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(exact_years), by_year, exact_years)


def _flag(column: pd.Series, value: object) -> np.ndarray:
    return column.astype(object).isin([value]).to_numpy(dtype=bool)  # NA is never a match


def build_profile(
    customers: pd.DataFrame,
    activity: pd.DataFrame,
    *,
    as_of: dt.date,
    previous_aum: pd.Series,
) -> pd.DataFrame:
    """One row per customer (same index) with every input the rules compare."""
    index = customers.index
    act = activity.reindex(index)
    assessed = pd.to_datetime(customers["risk_assessed_on"], errors="coerce")
    golden_product_risk = _level(customers["product_risk_max"])
    occupation = customers["occupation"].astype("string").fillna("")
    employer = customers["employer"].astype("string").fillna("")
    profile = pd.DataFrame(
        {
            "aum": pd.to_numeric(customers["aum_cny"], errors="coerce").fillna(0.0).to_numpy(),
            "previous_aum": pd.to_numeric(previous_aum.reindex(index), errors="coerce").to_numpy(),
            "age": ages(customers["birth_date"], customers["birth_year"], as_of),
            "risk_level": _level(customers["risk_level"]),
            "assessed_days": (pd.Timestamp(as_of) - assessed).dt.days.to_numpy(dtype=float),
            "product_risk": np.fmax(
                golden_product_risk, act["txn_product_risk"].to_numpy(dtype=float)
            ),
            "work": (occupation + " " + employer).to_numpy(dtype=object),
            "do_not_disturb": _flag(customers["do_not_disturb"], True),
            "consent": _flag(customers["marketing_consent"], True),
            "refused": _flag(customers["marketing_consent"], False),
            "black_listed": _flag(customers["list_flag"], "black"),
        },
        index=index,
    )
    for column in act.columns:
        if column == "last_txn_at":
            profile[column] = act[column]
        elif column.startswith("bought:"):
            profile[column] = act[column].eq(True).to_numpy(dtype=bool)
        elif (
            column.startswith("txn_count")
            or column.startswith("amount")
            or column in ("txn_amount_12m_cny",)
        ):
            profile[column] = act[column].fillna(0).to_numpy(dtype=float)
        elif column != "txn_product_risk":
            profile[column] = act[column].to_numpy(dtype=float)
    profile["has_txn"] = ~np.isnan(profile["last_txn_days"].to_numpy(dtype=float))
    return profile


def empty_activity(product_prefixes: tuple[str, ...]) -> pd.DataFrame:
    """The roll-up of no transactions at all."""
    columns = [*ACTIVITY_COLUMNS, *(product_prefix_column(p) for p in product_prefixes)]
    frame = pd.DataFrame(columns=columns, dtype=float)
    frame["last_txn_at"] = pd.Series(dtype="datetime64[ns]")
    frame.index.name = "customer_id"
    return frame
