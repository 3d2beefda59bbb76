"""Property tests (hypothesis): no raw value, however hostile, makes standardization raise, and
no row is dropped or reordered (issue 12, the fuzz layer over the standardizers)."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdm.schema import CANONICAL_FIELDS
from mdm.standardize.frame import standardize_frame

FIELDS = [name for name in CANONICAL_FIELDS if name not in ("source_system", "source_record_id")]

# Values a channel can carry: any text (control and bidi characters, surrogates excluded by
# the codec, CJK, digits of every script), near-dates, huge and tiny numbers, empties.
RAW = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Nd", "Cf", "Zs", "Lo", "Po"]), max_size=25),
    st.sampled_from(["9999-12-31", "0001-01-01", "1990-02-30", "19900307", "110101900307123",
                     "+86 138-1234-5678", "１３８１２３４５６７８", "NaN", "inf", "-0", "1e308"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.fixed_dictionaries({name: RAW for name in FIELDS[:24]}), min_size=1, max_size=8),
    st.lists(st.fixed_dictionaries({name: RAW for name in FIELDS[24:]}), min_size=8, max_size=8),
)
def test_any_raw_values_standardize_without_error_and_keep_every_row(
    first: list[dict[str, str | None]], rest: list[dict[str, str | None]]
) -> None:
    rows = [{**a, **b} for a, b in zip(first, rest, strict=False)]
    raw = pd.DataFrame(rows, index=pd.Index([f"k{i}" for i in range(len(rows))]), dtype=object)
    standardized = standardize_frame(raw)
    assert list(standardized.index) == list(raw.index)
