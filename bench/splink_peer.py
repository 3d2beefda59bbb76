"""Splink (DuckDB backend) as a yardstick for `python -m bench` and `python -m bench.quality`.

Splink is a benchmark peer only: product code never imports it. It gets the same standardized,
validated records our matcher gets and the training Splink's documentation recommends: u by
random sampling, m by EM on several blocking rules, the prior from deterministic rules.

Two configurations: ``settings()`` for the Chinese channels, configured like our matcher
(blocking rules equivalent to ours where Splink can express them, comparisons on the same
fields); ``latin_settings()`` for Latin-script people, configured the way Splink's own
tutorials configure such data (febrl, historical_people, fake_1000): first name and surname
with NameComparison levels and term frequencies, DateOfBirthComparison, city and postcode by
Levenshtein, EmailComparison, phone and id number exact or one edit; blocking on first name +
surname, surname + birth date, birth date, postcode, e-mail, phone, id; EM sessions on first
name + surname and on birth date.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pandas as pd

if TYPE_CHECKING:
    from splink import SettingsCreator
    from splink.internals.blocking_rule_creator import BlockingRuleCreator

THRESHOLD = 0.99  # the same as MatchSettings.upper
U_SAMPLE_PAIRS = 1e7  # Splink warns that its 1e6 default is too small


@dataclass(frozen=True)
class PeerResult:
    clusters: pd.Series  # record_key -> cluster id, at the first of the thresholds asked for
    pairs: int  # scored candidate pairs
    seconds: float  # training + prediction + clustering, excluding the input frame
    # threshold -> record_key -> cluster id, for every threshold asked for
    by_threshold: dict[float, pd.Series] = field(default_factory=dict)
    # EM sessions Splink could not finish (an m underflowing), reported beside its figures
    skipped_sessions: tuple[str, ...] = ()


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


def _text(records: pd.DataFrame, name: str) -> pd.Series:
    if name not in records.columns:
        return pd.Series(None, index=records.index, dtype="string")
    values = records[name].astype("string").str.strip()
    return values.mask(values == "")


def latin_input(records: pd.DataFrame) -> pd.DataFrame:
    """first_name / surname (the mapped columns, else the full name split by nameparser, as a
    Splink user would prepare them), dob, city, postcode, street, e-mail, phone and id number,
    lowercased the way the tutorials' data come."""
    from mdm.matching.latin import clean_part, split_name

    split = [split_name(v) for v in _text(records, "full_name").astype(object)]
    derived = pd.DataFrame(split, index=records.index, columns=["given", "family"], dtype=object)

    def part(column: str, fallback: str) -> pd.Series:
        mapped = pd.Series(
            [clean_part(v) for v in _text(records, column).astype(object)],
            index=records.index,
            dtype=object,
        )
        return pd.Series(mapped.fillna(derived[fallback]), dtype="string")

    usable_id = ~records.get("id_masked", pd.Series(False, index=records.index)).astype(
        "boolean"
    ).fillna(False).astype(bool)
    birth = pd.to_datetime(records.get("birth_date"), errors="coerce")
    frame = pd.DataFrame(
        {
            "unique_id": records.index.astype(str),
            "first_name": part("given_name", "given"),
            "surname": part("family_name", "family"),
            "dob": pd.Series(birth.dt.strftime("%Y-%m-%d"), dtype="string"),
            "city": _text(records, "city").str.lower(),
            "postcode": _text(records, "postal_code").str.upper().str.replace(" ", ""),
            "street": _text(records, "address").str.lower(),
            "email": _text(records, "email").str.lower(),
            "phone": _text(records, "mobile").fillna(_text(records, "phone_other")),
            "id_number": _text(records, "id_number").str.upper().where(usable_id),
        }
    )
    return frame.reset_index(drop=True)


def latin_settings() -> SettingsCreator:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            block_on("surname", "dob"),
            block_on("dob"),
            block_on("postcode"),
            block_on("email"),
            block_on("phone"),
            block_on("id_number"),
        ],
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.LevenshteinAtThresholds("city", 2).configure(term_frequency_adjustments=True),
            cl.LevenshteinAtThresholds("postcode", [1, 2]),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.7]),
            cl.EmailComparison("email"),
            cl.LevenshteinAtThresholds("phone", 1),
            cl.LevenshteinAtThresholds("id_number", 1),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


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


def run_splink(
    records: pd.DataFrame,
    *,
    seed: int = 0,
    population: Literal["chinese", "latin"] = "chinese",
    thresholds: tuple[float, ...] = (THRESHOLD,),
) -> PeerResult:
    """Train, predict and cluster with Splink; clusters are keyed by our record_key, one
    clustering per threshold (the pairs are predicted once, at the lowest)."""
    from splink import DuckDBAPI, Linker, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    latin = population == "latin"
    frame = latin_input(records) if latin else splink_input(records)
    started = time.perf_counter()
    db_api = DuckDBAPI()
    db_api.duckdb_con.execute("SET enable_progress_bar = false")
    linker = Linker(
        db_api.register(frame), latin_settings() if latin else settings(), log_level=logging.ERROR
    )
    training = linker.training
    deterministic: list[str | BlockingRuleCreator] = (
        [block_on("first_name", "surname", "dob"), block_on("email"), block_on("id_number")]
        if latin
        else [block_on("id_number"), block_on("email")]
    )
    training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=seed)
    # One EM session per rule; each leaves the comparisons its key fixes to the others.
    sessions = (
        (block_on("first_name", "surname"), block_on("dob"))
        if latin
        else (
            block_on("id_number"),
            block_on("mobile"),
            block_on("name_pinyin_sorted", "birth_year"),
        )
    )
    skipped = []
    for rule in sessions:
        try:
            training.estimate_parameters_using_expectation_maximisation(rule)
        except ValueError as exc:  # Splink 5 rejects an m that underflows below 1e-300
            if "below the minimum allowed value" not in str(exc):
                raise
            skipped.append(rule.get_blocking_rule("duckdb").blocking_rule_sql)
    predictions = linker.inference.predict(threshold_match_probability=min(0.5, *thresholds))
    by_threshold = {}
    for threshold in thresholds:
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=threshold
        )
        clusters = clustered.as_pandas_dataframe()[["unique_id", "cluster_id"]]
        by_threshold[threshold] = pd.Series(
            clusters["cluster_id"].to_numpy(dtype=object),
            index=pd.Index(clusters["unique_id"].to_numpy(dtype=object)),
            name="cluster",
        )
    pairs = db_api.duckdb_con.table(predictions.physical_name).shape[0]
    seconds = time.perf_counter() - started
    return PeerResult(
        clusters=by_threshold[thresholds[0]],
        pairs=int(pairs),
        seconds=seconds,
        by_threshold=by_threshold,
        skipped_sessions=tuple(skipped),
    )
