"""Running the suites through Great Expectations: validation results and Data Docs per run.

Results are requested with no sample values (`partial_unexpected_count: 0`), so the HTML report
carries counts and rules but never a customer's ID number, phone or email.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0}
SITE = "mdm"


@dataclass
class SuiteReport:
    """What GX found for one suite on one frame."""

    suite: str
    success: bool
    unexpected_counts: dict[str, int]  # rule -> rows GX counted as unexpected


def validate_with_gx(
    frames: dict[str, tuple[gx.ExpectationSuite, pd.DataFrame]], *, docs_dir: Path | None
) -> tuple[list[SuiteReport], Path | None]:
    """Validate each frame with its suite; with docs_dir, build Data Docs there."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name=SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    source = context.data_sources.add_pandas("mdm")
    definitions = []
    for name, (suite, _frame) in frames.items():
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        stored = context.suites.add(suite)
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch, suite=stored)
            )
        )
    reports = []
    for definition, (name, (_suite, frame)) in zip(definitions, frames.items(), strict=True):
        actions: list[gx.checkpoint.actions.ValidationAction] = (
            [gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=[SITE])] if docs_dir else []
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{name}_checkpoint",
                validation_definitions=[definition],
                actions=actions,
                result_format=RESULT_FORMAT,
            )
        )
        result = checkpoint.run(batch_parameters={"dataframe": frame})
        for run_result in result.run_results.values():
            for item in run_result.results:
                error = _error(item.exception_info)
                if error:  # an expectation GX could not evaluate is a bug, never a silent 0
                    raise RuntimeError(f"{name}: {_rule(item.expectation_config)}: {error}")
            counts = {
                _rule(item.expectation_config): int(item.result.get("unexpected_count", 0))
                for item in run_result.results
            }
            reports.append(SuiteReport(name, bool(run_result.success), counts))
    index = docs_dir / "index.html" if docs_dir is not None else None
    return reports, index


def _error(info: dict[str, Any]) -> str | None:
    """The message of an exception GX caught; its info is flat or keyed by metric."""
    for entry in [info, *(v for v in info.values() if isinstance(v, dict))]:
        if entry.get("raised_exception"):
            return str(entry.get("exception_message"))
    return None


def _rule(config: ExpectationConfiguration | None) -> str:
    assert config is not None and config.meta is not None, "every expectation names its rule"
    return str(config.meta["rule"])
