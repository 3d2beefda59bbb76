"""Splink (DuckDB backend) configured like our matcher, as a yardstick for `python -m bench`.

Splink is a benchmark peer only: product code never imports it. It gets the same standardized,
validated records our matcher gets, blocking rules equivalent to ours where Splink can express
them, comparisons on the same fields, and the training Splink's documentation recommends: u by
random sampling, m by EM on several blocking rules, the prior from deterministic rules. Pairs at
match probability 0.99 or above are clustered with connected components.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from splink import SettingsCreator

THRESHOLD = 0.99  # the same as MatchSettings.upper
U_SAMPLE_PAIRS = 1e7  # Splink warns that its 1e6 default is too small


@dataclass(frozen=True)
class PeerResult:
    clusters: pd.Series  # record_key -> cluster id
    pairs: int  # scored candidate pairs
    seconds: float  # training + prediction + clustering, excluding the input frame


def splink_input(records: pd.DataFrame) -> pd.DataFrame:
    """The columns the Splink model compares, from our standardized records.

    Like our matcher, it only uses unmasked, valid id numbers and whole names (a 王先生 record's
    name is its surname alone, so its name keys are left null).
    """

    def text(name: str) -> pd.Series:
        if name not in records.columns:
            return pd.Series(None, index=records.index, dtype="string")
        values = records[name].astype("string").str.strip()
        return values.mask(values == "")

    def flag(name: str) -> pd.Series:
        if name not in records.columns:
            return pd.Series(False, index=records.index)
        return records[name].astype("boolean").fillna(False).astype(bool)

    partial = flag("name_is_partial")
    usable_id = flag("id_valid") & ~flag("id_masked")
    birth = pd.to_datetime(records.get("birth_date"), errors="coerce")
    stated_year = pd.to_numeric(records.get("birth_year"), errors="coerce")
    frame = pd.DataFrame(
        {
            "unique_id": records.index.astype(str),
            "name_key": text("name_key").mask(partial),
            "name_pinyin_sorted": text("name_pinyin_sorted").mask(partial),
            "id_number": text("id_number").str.upper().where(usable_id),
            "birth_date": pd.Series(birth.dt.strftime("%Y-%m-%d"), dtype="string"),
            "birth_year": birth.dt.year.fillna(stated_year).astype("Int64"),
            "mobile": text("mobile"),
            "email": text("email").str.lower(),
            "city": text("city").str.removesuffix("市"),
        }
    )
    return frame.reset_index(drop=True)


def settings() -> SettingsCreator:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        [
            cll.NullLevel("name_pinyin_sorted"),
            cll.ExactMatchLevel("name_key").configure(tf_adjustment_column="name_key"),
            cll.ExactMatchLevel("name_pinyin_sorted"),
            cll.JaroWinklerLevel("name_pinyin_sorted", 0.92),
            cll.JaroWinklerLevel("name_pinyin_sorted", 0.8),
            cll.ElseLevel(),
        ],
        output_column_name="name",
    )
    return SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("id_number"),
            block_on("mobile"),
            block_on("email"),
            block_on("name_pinyin_sorted", "birth_year"),
            block_on("name_key", "city"),
        ],
        comparisons=[
            name,
            cl.LevenshteinAtThresholds("id_number", 2),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.LevenshteinAtThresholds("mobile", 1),
            cl.EmailComparison("email"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def run_splink(records: pd.DataFrame, *, seed: int = 0) -> PeerResult:
    """Train, predict and cluster with Splink; clusters are keyed by our record_key."""
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    frame = splink_input(records)
    started = time.perf_counter()
    db_api = DuckDBAPI()
    db_api.duckdb_con.execute("SET enable_progress_bar = false")
    linker = Linker(db_api.register(frame), settings(), log_level=logging.ERROR)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("id_number"), block_on("email")], recall=0.7
    )
    training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=seed)
    # One EM session per rule; each leaves the comparisons its key fixes to the others.
    for rule in (
        block_on("id_number"),
        block_on("mobile"),
        block_on("name_pinyin_sorted", "birth_year"),
    ):
        training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    )
    clusters = clustered.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    pairs = db_api.duckdb_con.table(predictions.physical_name).shape[0]
    seconds = time.perf_counter() - started
    return PeerResult(
        clusters=pd.Series(
            clusters["cluster_id"].to_numpy(dtype=object),
            index=pd.Index(clusters["unique_id"].to_numpy(dtype=object)),
            name="cluster",
        ),
        pairs=int(pairs),
        seconds=seconds,
    )
