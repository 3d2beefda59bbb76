"""matching.yaml: each key changes what the matcher does, and each mistake is one line naming
the file, the key and the problem (issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers.matching_data import synthetic_records
from helpers.warehouse_io import read, run_into

from flows.dedupe import MATCHING_CONFIG, incremental
from flows.pipeline import RunSettings, matching_settings
from mdm.errors import ConfigError
from mdm.matching import MatchResult, MatchSettings, match_records
from mdm.matching.config import MATCHING_FILE, MatchingConfig, load_matching
from mdm.testbed.generate import generate
from warehouse.state import WarehouseState


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return synthetic_records(300, seed=3).drop(columns="entity")


def _settings(tmp_path: Path, text: str) -> MatchSettings:
    (tmp_path / MATCHING_FILE).write_text(text, encoding="utf-8")
    return load_matching(tmp_path).settings()


@pytest.fixture(scope="module")
def default(records: pd.DataFrame) -> MatchResult:
    return match_records(records, settings=MatchingConfig().settings())


def test_no_file_is_the_engine_defaults(tmp_path: Path) -> None:
    assert load_matching(tmp_path).settings() == MatchSettings()
    assert load_matching(tmp_path).fingerprint() == ""


def test_a_stricter_match_threshold_merges_fewer(
    records: pd.DataFrame, default: MatchResult, tmp_path: Path
) -> None:
    strict = _settings(tmp_path, "thresholds:\n  match: 0.999999999\n  review: 0.5\n")
    assert (strict.upper, strict.lower) == (0.999999999, 0.5)
    result = match_records(records, settings=strict)
    assert result.clusters.nunique() > default.clusters.nunique()
    assert (result.pairs["decision"] == "match").sum() < (
        default.pairs["decision"] == "match"
    ).sum()
    assert (result.pairs["decision"] == "possible").sum() > 0


def test_blocking_rules_are_switched_off_and_added(
    records: pd.DataFrame, default: MatchResult, tmp_path: Path
) -> None:
    settings = _settings(
        tmp_path,
        "blocking:\n  disable: [mobile, mobile_digits_surname]\n"
        "  add:\n    surname_city_year: [surname, city, birth_year]\n",
    )
    result = match_records(records, settings=settings)
    assert "mobile" not in result.blocking_counts and "mobile" in default.blocking_counts
    assert result.blocking_counts["surname_city_year"] > 0
    assert result.pairs["rules"].astype(str).str.contains("surname_city_year").any()
    assert not result.pairs["rules"].astype(str).str.contains("mobile").any()


def test_a_comparison_switched_off_weighs_nothing(
    records: pd.DataFrame, default: MatchResult, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, "comparisons:\n  mobile:\n    enabled: false\n")
    assert settings.comparisons_off == {"mobile"}
    result = match_records(records, settings=settings)
    assert (default.pairs["mobile_level"] != "null").any()
    assert (result.pairs["mobile_level"] == "null").all()
    assert (result.pairs["mobile_weight"] == 0).all()


def test_a_cutoff_moves_its_level(
    records: pd.DataFrame, default: MatchResult, tmp_path: Path
) -> None:
    settings = _settings(
        tmp_path, "comparisons:\n  name:\n    cutoffs:\n      latin_similar: 0.5\n"
    )
    result = match_records(records, settings=settings)
    similar = (result.pairs["name_level"] == "latin_similar").sum()
    assert similar > (default.pairs["name_level"] == "latin_similar").sum()


def test_term_frequencies_are_switched_off_per_field(
    records: pd.DataFrame, default: MatchResult, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, "term_frequency: [birth_date, city]\n")
    result = match_records(records, settings=settings)

    def weights(pairs: pd.DataFrame) -> int:
        return pairs.loc[pairs["name_level"] == "exact", "name_weight"].round(6).nunique()

    assert weights(default.pairs) > 1  # each name weighs by how common it is
    assert weights(result.pairs) == 1  # every exact name weighs the level's weight


def test_the_household_rule_can_be_switched_off(
    records: pd.DataFrame, default: MatchResult, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, "household: false\n")
    result = match_records(records, settings=settings)

    def family_only(pairs: pd.DataFrame) -> pd.Series:
        return pairs.loc[pairs["name_level"] == "latin_family_only", "decision"].astype(str)

    assert set(family_only(default.pairs)) == {"cannot_link"}
    assert set(family_only(result.pairs)) - {"cannot_link"}


def test_a_changed_matching_yaml_is_not_scored_with_a_model_fitted_under_another(
    tmp_path: Path,
) -> None:
    fingerprint = _settings(tmp_path, "blocking:\n  disable: [address]\n").fingerprint
    assert len(fingerprint) == 12
    # thresholds and the household rule do not change the model
    assert _settings(tmp_path, "thresholds: {match: 0.995}\nhousehold: false\n").fingerprint == ""


def test_a_model_fitted_under_another_matching_yaml_is_refitted(
    records: pd.DataFrame, default: MatchResult, tmp_path: Path
) -> None:
    def state(parameters: dict[str, object]) -> WarehouseState:
        return WarehouseState(
            records=records,
            customer_of=pd.Series("C000000001", index=records.index),
            customers=pd.DataFrame(),
            match_parameters=parameters,
        )

    delta = records.index[:3]
    assert incremental(delta, state(default.parameters), MatchSettings())
    changed = _settings(tmp_path, "blocking:\n  disable: [address]\n")
    assert not incremental(delta, state(default.parameters), changed)
    fitted_so = {**default.parameters, MATCHING_CONFIG: changed.fingerprint}
    assert incremental(delta, state(fitted_so), changed)
    assert not incremental(delta, state(fitted_so), MatchSettings())
    # an added rule's keys are not stored: its neighbourhood cannot be found incrementally
    added = _settings(tmp_path, "blocking:\n  add:\n    by_city: [surname, city]\n")
    with_rule = {**default.parameters, MATCHING_CONFIG: added.fingerprint}
    assert not incremental(delta, state(with_rule), added)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("threshold:\n  match: 0.9\n", "key 'threshold'", "unknown key"),
        ("thresholds:\n  merge: 0.9\n", "key 'thresholds.merge'", "unknown key"),
        ("thresholds:\n  match: high\n", "key 'thresholds.match'", "valid number"),
        ("thresholds:\n  match: 1.5\n", "key 'thresholds.match'", "less than or equal to 1"),
        ("thresholds:\n  review: -0.1\n", "key 'thresholds.review'", "greater than or equal to 0"),
        (
            "thresholds:\n  match: 0.8\n  review: 0.9\n",
            "key 'thresholds'",
            "review (0.9) must be above 0 and at most match (0.8)",
        ),
        (
            "blocking:\n  disable: [phone]\n",
            "key 'blocking.disable'",
            "unknown blocking rule 'phone'",
        ),
        (
            "blocking:\n  add:\n    postcode: [postal_code]\n",
            "key 'blocking.add'",
            "unknown field in rule 'postcode': 'postal_code'",
        ),
        ("blocking:\n  add:\n    mobile: [mobile]\n", "key 'blocking.add'", "default rule's name"),
        ("blocking:\n  disable: mobile\n", "key 'blocking.disable'", "valid list"),
        ("comparisons:\n  phone:\n    enabled: false\n", "key 'comparisons'", "unknown comparison"),
        (
            "comparisons:\n  mobile:\n    cutoffs: {exact: 0.9}\n",
            "key 'comparisons'",
            "comparison 'mobile' has no cutoff 'exact' (its cutoffs: none)",
        ),
        (
            "comparisons:\n  email:\n    enabled: maybe\n",
            "key 'comparisons.email.enabled'",
            "boolean",
        ),
        ("term_frequency: [surname]\n", "key 'term_frequency'", "unknown field 'surname'"),
        ("household: 1\n", "key 'household'", "boolean"),
        ("- thresholds\n", "", "expected a mapping"),
        ("thresholds: [\n", "", "not valid YAML"),
    ],
)
def test_each_mistake_is_one_line_naming_file_key_and_problem(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    (tmp_path / MATCHING_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_matching(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / MATCHING_FILE}: ")
    assert key in message and problem in message, message


def test_mdm_run_stops_on_a_bad_matching_yaml_with_exit_2(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    generate(sources, customers=20, seed=5)
    (sources / MATCHING_FILE).write_text("thresholds:\n  match: 2\n", encoding="utf-8")
    env = {**os.environ, "MDM_WAREHOUSE_URL": f"sqlite:///{tmp_path / 'warehouse.db'}"}
    env.pop("MDM_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "mdm.cli.app", "run", "--sources", str(sources)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith("mdm: error: ") and MATCHING_FILE in lines[0]
    assert "key 'thresholds.match'" in lines[0]
    assert not (tmp_path / "warehouse.db").exists()


def test_a_runs_own_thresholds_override_the_files(tmp_path: Path) -> None:
    (tmp_path / MATCHING_FILE).write_text("thresholds: {match: 0.995, review: 0.9}\n")
    from_file = matching_settings(RunSettings(sources_dir=tmp_path))
    assert (from_file.upper, from_file.lower) == (0.995, 0.9)
    explicit = matching_settings(RunSettings(sources_dir=tmp_path, match_upper=0.999))
    assert (explicit.upper, explicit.lower) == (0.999, 0.9)
    with pytest.raises(ConfigError, match="thresholds with the run's"):
        matching_settings(RunSettings(sources_dir=tmp_path, match_upper=0.85))


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_pipeline_reads_matching_yaml_beside_channels_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources"
    generate(sources, customers=60, seed=11)
    default = run_into(
        sources, f"sqlite:///{tmp_path / 'a.db'}", monkeypatch, tmp_path, build_docs=False
    )
    (sources / MATCHING_FILE).write_text(
        "thresholds: {match: 0.9999999999, review: 0.5}\nblocking: {disable: [address]}\n"
    )
    url = f"sqlite:///{tmp_path / 'b.db'}"
    strict = run_into(sources, url, monkeypatch, tmp_path, build_docs=False)
    assert strict.merges < default.merges
    assert "address" in default.blocking_counts and "address" not in strict.blocking_counts
    saved = read(url, "SELECT match_parameters FROM pipeline_run")["match_parameters"].iloc[0]
    fingerprint = load_matching(sources).fingerprint()
    assert json.loads(saved)[MATCHING_CONFIG] == fingerprint != ""
