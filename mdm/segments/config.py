"""segments.yaml: the segment rules a business user reads and changes (SPEC §6).

The shipped defaults (mdm/segments/defaults.yaml) are read first; a user's file overrides them
section by section. Every problem is one ConfigError line naming the file and the setting.
Each segment family has a `version`: a fingerprint of its rules, stored with every assignment,
so an assignment always says which rules made it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mdm.errors import ConfigError

SEGMENTS_FILE = "segments.yaml"
DEFAULT_FILE = Path(__file__).parent / "defaults.yaml"


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def version(self, family: str) -> str:
        """`family:` + 12 hex digits of the rules' JSON: changes exactly when a rule changes."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return f"{family}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


class Tier(_Rules):
    name: str
    min_aum_cny: float = Field(ge=0)
    contact_every_days: int = Field(gt=0)


class ValueTierRules(_Rules):
    tiers: tuple[Tier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _highest_first(self) -> ValueTierRules:
        floors = [tier.min_aum_cny for tier in self.tiers]
        if floors != sorted(floors, reverse=True) or len(set(floors)) != len(floors):
            raise ValueError("tiers must be listed highest min_aum_cny first, each floor once")
        if floors[-1] != 0:
            raise ValueError("the last tier must start at min_aum_cny 0")
        return self

    @property
    def names(self) -> list[str]:
        return [tier.name for tier in self.tiers]


class AumAlertRules(_Rules):
    more_than_cny: float = Field(gt=0)
    tiers: tuple[str, ...]


class QuadrantRules(_Rules):
    high_value_min_aum_cny: float = Field(ge=0)
    high_potential_min_points: int = Field(ge=1, le=4)
    prime_age_min: int = Field(ge=0)
    prime_age_max: int = Field(ge=0)
    growth_occupations: tuple[str, ...] = ()
    inflow_share_min: float = Field(gt=0)


class RfmGroup(_Rules):
    name: str
    recency_min: int = Field(default=1, ge=1, le=5)
    recency_max: int = Field(default=5, ge=1, le=5)
    frequency_min: int = Field(default=1, ge=1, le=5)
    frequency_max: int = Field(default=5, ge=1, le=5)
    monetary_min: int = Field(default=1, ge=1, le=5)
    monetary_max: int = Field(default=5, ge=1, le=5)


def _four_rising(values: tuple[float, ...], name: str) -> None:
    if len(values) != 4 or list(values) != sorted(set(values)):
        raise ValueError(f"{name} needs four rising thresholds (they split scores 1-5)")


class RfmRules(_Rules):
    recency_days: tuple[int, ...]
    frequency_counts: tuple[int, ...]
    monetary_cny: tuple[float, ...]
    groups: tuple[RfmGroup, ...]

    @model_validator(mode="after")
    def _thresholds(self) -> RfmRules:
        _four_rising(tuple(self.recency_days), "recency_days")
        _four_rising(tuple(self.frequency_counts), "frequency_counts")
        _four_rising(tuple(self.monetary_cny), "monetary_cny")
        return self


class RiskProfileRules(_Rules):
    names: dict[str, str]
    assessment_valid_days: int = Field(gt=0)

    @model_validator(mode="after")
    def _levels(self) -> RiskProfileRules:
        if sorted(self.names) != ["C1", "C2", "C3", "C4", "C5"]:
            raise ValueError("names must name exactly C1, C2, C3, C4 and C5")
        return self


class ChurnWarningRules(_Rules):
    quiet_days: int = Field(gt=0)
    earlier_min_count: int = Field(ge=1)
    aum_drop_share: float = Field(gt=0, le=1)


class LifecycleRules(_Rules):
    new_within_days: int = Field(gt=0)
    active_within_days: int = Field(gt=0)
    churned_after_days: int = Field(gt=0)
    churned_aum_below_cny: float = Field(ge=0)
    churn_warning: ChurnWarningRules

    @model_validator(mode="after")
    def _order(self) -> LifecycleRules:
        if not self.active_within_days <= self.churned_after_days:
            raise ValueError("active_within_days must not exceed churned_after_days")
        return self


class CampaignRule(_Rules):
    """Eligible when any given condition holds (ages are whole years, bounds inclusive)."""

    product_prefixes: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    age_below: int | None = None
    age_above: int | None = None


class CampaignRules(_Rules):
    require_marketing_consent: bool = True
    wealth_products: CampaignRule
    fund_sip: CampaignRule
    bond_funds: CampaignRule
    bancassurance: CampaignRule


class SegmentRules(_Rules):
    """Every segment family's rules; `version(family)` is recorded with each assignment."""

    value_tier: ValueTierRules
    aum_alert: AumAlertRules
    quadrant: QuadrantRules
    rfm: RfmRules
    risk_profile: RiskProfileRules
    lifecycle: LifecycleRules
    campaigns: CampaignRules

    @model_validator(mode="after")
    def _alert_tiers_exist(self) -> SegmentRules:
        unknown = sorted(set(self.aum_alert.tiers) - set(self.value_tier.names))
        if unknown:
            raise ValueError(f"aum_alert.tiers: '{unknown[0]}' is not a value tier")
        return self


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read segment rules ({exc.strerror})") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path}: not valid YAML: {first}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of segment families at the top level")
    return document


def load_segment_rules(path: Path | None = None) -> SegmentRules:
    """The defaults, with each top-level section of `path` (when given) replacing its default."""
    document = _read_yaml(DEFAULT_FILE)
    where = DEFAULT_FILE
    if path is not None:
        where = path
        override = _read_yaml(path)
        unknown = sorted(set(override) - set(SegmentRules.model_fields))
        if unknown:
            known = ", ".join(SegmentRules.model_fields)
            raise ConfigError(f"{path}: unknown section '{unknown[0]}' (known: {known})")
        document = {**document, **override}
    try:
        return SegmentRules(**document)
    except ValidationError as exc:
        error = exc.errors()[0]
        setting = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {setting}: {message}") from exc


def find_segment_rules(sources_dir: Path, explicit: Path | None) -> SegmentRules:
    """`--segments FILE`, else segments.yaml beside channels.yaml, else the shipped defaults."""
    if explicit is not None:
        return load_segment_rules(explicit)
    beside = sources_dir / SEGMENTS_FILE
    return load_segment_rules(beside if beside.is_file() else None)
