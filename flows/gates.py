"""Quality gates: a run that crosses one fails with one clear line before its load, so the
warehouse keeps its last good run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mdm.errors import MdmError


class QualityGateFailed(MdmError):
    """The run's data crossed a configured limit; nothing was loaded."""


def customer_rows(rows_read: Mapping[str, int], quarantined: Mapping[str, int]) -> tuple[int, int]:
    """Rows read from the customer channels and how many of them went to quarantine
    (a transactions feed's rejects are quarantined too, but they are no customer rows)."""
    return sum(rows_read.values()), sum(quarantined.get(channel, 0) for channel in rows_read)


def quarantine_rate(rows_read: Mapping[str, int], quarantined: Mapping[str, int]) -> float:
    """The share of the channels' rows sent to quarantine (transactions feeds not counted)."""
    read, held = customer_rows(rows_read, quarantined)
    return held / read if read else 0.0


def model_is_degenerate(parameters: Mapping[str, Any]) -> bool:
    """The matcher's own verdict on its fitted model (`parameters["model_check"]["degenerate"]`),
    read defensively: a matcher that does not report it is not degenerate."""
    check = parameters.get("model_check") if isinstance(parameters, Mapping) else None
    return isinstance(check, Mapping) and check.get("degenerate") is True


def check_quality_gates(
    *,
    rows_read: Mapping[str, int],
    quarantined: Mapping[str, int],
    match_parameters: Mapping[str, Any],
    max_quarantine_rate: float,
    fail_on_degenerate_model: bool,
) -> None:
    rate = quarantine_rate(rows_read, quarantined)
    if rate > max_quarantine_rate:
        read, held = customer_rows(rows_read, quarantined)
        raise QualityGateFailed(
            f"quality gate: {rate:.1%} of rows quarantined ({held:,} of"
            f" {read:,}), above the limit of {max_quarantine_rate:.1%}"
            " (--max-quarantine-rate); nothing was loaded"
        )
    if fail_on_degenerate_model and model_is_degenerate(match_parameters):
        raise QualityGateFailed(
            "quality gate: the fitted match model is degenerate (model_check.degenerate);"
            " nothing was loaded (--no-fail-on-degenerate-model to load anyway)"
        )
