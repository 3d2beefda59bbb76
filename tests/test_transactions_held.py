"""A feed held as aggregates per ref_key (mdm/segments/transactions.py hold_transactions) rolls
up to the same activity, and sends the same rows to quarantine, as linking every row and rolling
the linked rows up (link_transactions, then roll_up): what a run did before it held its feeds so."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdm.segments.profile import ActivityWindow, roll_up
from mdm.segments.transactions import (
    hold_transactions,
    link_transactions,
    parse_transactions,
    roll_up_held,
)

AS_OF = dt.date(2025, 6, 30)
AMOUNTS = ("txn_amount_12m_cny", "amount_recent_half", "amount_earlier_half")
REFS = [f"{n}" for n in range(1, 13)]  # of each feed's ref channel; some link to no customer
PRODUCTS = [None, "", "WM001", "wm002", "FS01", "BF9", "TD1", "INS-3", "FSX"]
RISKS = [None, "", "R1", "r2", "3", "R5", "R6", "x"]

day = st.integers(min_value=-900, max_value=40)  # days after as_of: the future too
row = st.tuples(
    st.one_of(st.none(), st.sampled_from(REFS)),
    st.one_of(day.map(lambda d: f"{AS_OF + dt.timedelta(days=d)} 10:00:00"), st.just("never")),
    st.one_of(
        st.integers(-(10**7), 10**7).map(lambda c: f"{c / 100:.2f}"),
        st.floats(-1e6, 1e6, allow_nan=False).map(repr),
        st.just("ten"),
    ),
    st.sampled_from(PRODUCTS),
    st.sampled_from(RISKS),
)


def mapped(channel: str, rows: list[tuple[str | None, ...]]) -> pd.DataFrame:
    """Rows as the channel reader maps them, with their lineage and payload."""
    return pd.DataFrame(
        {
            "source_system": channel,
            "source_record_id": [f"{channel}-{i}" for i in range(len(rows))],
            "source_file": [f"{channel}_{i % 2}.csv" for i in range(len(rows))],
            "source_row": np.arange(2, 2 + len(rows), dtype=np.int64),
            "raw_payload": [f'{{"n":{i},"ref":"{r[0]}"}}' for i, r in enumerate(rows)],
            "customer_ref": [r[0] for r in rows],
            "txn_at": [r[1] for r in rows],
            "amount_cny": [r[2] for r in rows],
            "product_code": [r[3] for r in rows],
            "product_risk": [r[4] for r in rows],
            "txn_type": "buy",
        }
    )


def linked_row_by_row(
    parsed: list[pd.DataFrame], customer_of: pd.Series, window: ActivityWindow
) -> tuple[pd.DataFrame | None, list[pd.DataFrame], int]:
    """How enrich rolled feeds up before they were held per ref_key."""
    linked, unknown = zip(*(link_transactions(p, customer_of) for p in parsed), strict=True)
    rows = [part for part in linked if not part.empty]
    if not rows:
        return None, list(unknown), 0
    transactions = pd.concat(rows, ignore_index=True)
    activity = roll_up(
        transactions,
        as_of=window.as_of,
        quiet_days=window.quiet_days,
        product_prefixes=window.product_prefixes,
    )
    return activity, list(unknown), len(transactions)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    branch=st.lists(row, max_size=60),
    fund=st.lists(row, max_size=30),
    owners=st.lists(st.sampled_from(["C1", "C2", "C3", "C4", None]), min_size=24, max_size=24),
    quiet_days=st.integers(1, 400),
    prefixes=st.lists(st.sampled_from(["WM", "FS", "BF", "INS", "X"]), unique=True, max_size=4),
)
def test_held_feeds_roll_up_as_every_row_linked(
    branch: list[tuple[str | None, ...]],
    fund: list[tuple[str | None, ...]],
    owners: list[str | None],
    quiet_days: int,
    prefixes: list[str],
) -> None:
    window = ActivityWindow(AS_OF, quiet_days, tuple(prefixes))
    keys = [f"{channel}:{ref}" for channel in ("branch", "fund") for ref in REFS]
    # several ref_keys per customer, in both feeds; those owned by None are unknown
    customer_of = pd.Series(
        [o for o in owners if o is not None],
        index=[k for k, o in zip(keys, owners, strict=True) if o is not None],
        dtype=object,
    )
    parsed = [
        parse_transactions(mapped("branch_txn", branch), ref_channel="branch")[0],
        parse_transactions(mapped("fund_txn", fund), ref_channel="fund")[0],
    ]
    held = [hold_transactions(p, window) for p in parsed]
    activity, unknown, linked = roll_up_held(held, customer_of, window)
    expected, expected_unknown, expected_linked = linked_row_by_row(parsed, customer_of, window)

    assert linked == expected_linked
    for got, want in zip(unknown, expected_unknown, strict=True):
        pd.testing.assert_frame_equal(got, want)
    assert sum(map(len, unknown)) + linked == sum(map(len, parsed))
    if expected is None or expected.empty:  # no row, or only rows after the run date
        # (roll_up's sums of no rows at all are numpy's integer zeros: the dtypes of no values)
        assert activity.empty
        assert expected is None or list(activity.columns) == list(expected.columns)
        return
    # Sums add each customer's rows ref_key by ref_key now: the same to the last bits where a
    # customer's rows are of one ref_key, to rounding in the last bits where of several.
    exact = activity.drop(columns=list(AMOUNTS))
    pd.testing.assert_frame_equal(exact, expected.drop(columns=list(AMOUNTS)), check_exact=True)
    pd.testing.assert_frame_equal(activity, expected, check_exact=False, rtol=1e-12, atol=1e-9)
    refs_per_customer = customer_of[
        customer_of.index.isin(pd.concat(p["ref_key"] for p in parsed))
    ].value_counts()
    single = activity.index[activity.index.map(refs_per_customer) == 1]
    pd.testing.assert_frame_equal(activity.loc[single], expected.loc[single], check_exact=True)


def test_a_feed_held_for_another_run_date_is_refused() -> None:
    parsed, _ = parse_transactions(
        mapped("branch_txn", [("1", "2025-06-01 10:00:00", "10", "WM1", "R2")]),
        ref_channel="branch",
    )
    held = hold_transactions(parsed, ActivityWindow(AS_OF, 90, ()))
    try:
        roll_up_held([held], pd.Series({"branch:1": "C1"}), ActivityWindow(AS_OF, 91, ()))
    except ValueError as error:
        assert "held for" in str(error)
    else:
        raise AssertionError("rolled up against another window")
