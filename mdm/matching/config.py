"""matching.yaml: how the matcher blocks, compares and decides, beside channels.yaml (SPEC §4).

Every key is optional and the file itself too: without it the matcher runs on its defaults.
Only what the engine honours is accepted: the two thresholds, default blocking rules switched
off and rules added from the fields the matcher keys (blocking.FIELD_KEYS), comparisons
switched off and their similarity cutoffs moved (compare.CUTOFFS), which values' frequencies
adjust the exact levels, the household rule, and the audit of automatic merges (its sample
size and seed). Every mistake is one ConfigError line naming
the file, the key and the problem.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from mdm.errors import ConfigError
from mdm.matching.blocking import DEFAULT_RULES, FIELD_KEYS, field_rule
from mdm.matching.compare import COMPARISONS, CUTOFFS
from mdm.matching.engine import MatchSettings

MATCHING_FILE = "matching.yaml"
Share = Annotated[float, Field(strict=True, ge=0, le=1)]
# term_frequency names -> the Features fields whose shares adjust the exact levels (model.py)
TERM_FREQUENCY_FIELDS = {
    "name": ("name", "pinyin"),
    "birth_date": ("birth_date",),
    "city": ("city",),
}
_DEFAULTS = MatchSettings()
_RULE_NAMES = [rule.name for rule in DEFAULT_RULES]


def _known(value: str, known: Any, what: str) -> str:
    if value not in known:
        raise ValueError(f"unknown {what} '{value}' (known: {', '.join(known)})")
    return value


def _check_comparison(name: str, comparison: Comparison) -> None:
    _known(name, COMPARISONS, "comparison")
    movable = CUTOFFS.get(name, {})
    for cutoff in comparison.cutoffs:
        if cutoff not in movable:
            known = ", ".join(movable) or "none"
            raise ValueError(f"comparison '{name}' has no cutoff '{cutoff}' (its cutoffs: {known})")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Section):
    match: Share = _DEFAULTS.upper  # merged automatically at or above this probability
    review: Share = _DEFAULTS.lower  # a possible_match task from here up to `match`

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if not 0 < self.review <= self.match:
            raise ValueError(
                f"review ({self.review}) must be above 0 and at most match ({self.match})"
            )
        return self


class Blocking(_Section):
    disable: list[str] = Field(default_factory=list)  # names of default rules
    add: dict[str, list[str]] = Field(default_factory=dict)  # new rule name -> fields

    @field_validator("disable")
    @classmethod
    def _default_rules(cls, names: list[str]) -> list[str]:
        for name in names:
            _known(name, _RULE_NAMES, "blocking rule")
        return names

    @field_validator("add")
    @classmethod
    def _new_rules(cls, rules: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, fields in rules.items():
            if name in _RULE_NAMES:
                raise ValueError(f"rule '{name}' has a default rule's name")
            if not fields:
                raise ValueError(f"rule '{name}' names no field")
            for field in fields:
                _known(field, FIELD_KEYS, f"field in rule '{name}':")
        return rules

    @model_validator(mode="after")
    def _some_rule(self) -> Blocking:
        if set(self.disable) == set(_RULE_NAMES) and not self.add:
            raise ValueError("every rule is disabled and none added: no pair would be compared")
        return self


class Comparison(_Section):
    enabled: StrictBool = True
    cutoffs: dict[str, Share] = Field(default_factory=dict)


class Audit(_Section):
    sample_size: Annotated[int, Field(strict=True, ge=0, le=10_000)] = _DEFAULTS.audit_sample
    seed: Annotated[int, Field(strict=True, ge=0)] = _DEFAULTS.audit_seed


class MatchingConfig(_Section):
    """The whole matching.yaml."""

    thresholds: Thresholds = Field(default_factory=Thresholds)
    blocking: Blocking = Field(default_factory=Blocking)
    comparisons: dict[str, Comparison] = Field(default_factory=dict)
    term_frequency: list[str] = Field(default_factory=lambda: list(TERM_FREQUENCY_FIELDS))
    household: StrictBool = True  # one family name with two given names is never merged
    audit: Audit = Field(default_factory=Audit)  # automatic merges sampled for a steward

    @field_validator("comparisons")
    @classmethod
    def _known_comparisons(cls, comparisons: dict[str, Comparison]) -> dict[str, Comparison]:
        for name, comparison in comparisons.items():
            _check_comparison(name, comparison)
        return comparisons

    @field_validator("term_frequency")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        for field in fields:
            _known(field, TERM_FREQUENCY_FIELDS, "field")
        return fields

    def fingerprint(self) -> str:
        """12 hex digits of what shapes the model (not the thresholds, not the household
        rule); '' when that is all default, as for a warehouse fitted before matching.yaml."""
        shaping = self.model_dump(include={"blocking", "comparisons", "term_frequency"})
        default = MatchingConfig().model_dump(include={"blocking", "comparisons", "term_frequency"})
        if shaping == default:
            return ""
        text = json.dumps(shaping, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def settings(self, **overrides: Any) -> MatchSettings:
        """MatchSettings for the engine; ``overrides`` (e.g. a run's explicit thresholds) win."""
        disabled = set(self.blocking.disable)
        rules = tuple(rule for rule in DEFAULT_RULES if rule.name not in disabled)
        rules += tuple(field_rule(name, tuple(f)) for name, f in self.blocking.add.items())
        tf_fields = {f for name in self.term_frequency for f in TERM_FREQUENCY_FIELDS[name]}
        values: dict[str, Any] = {
            "upper": self.thresholds.match,
            "lower": self.thresholds.review,
            "rules": rules,
            "comparisons_off": frozenset(n for n, c in self.comparisons.items() if not c.enabled),
            "cutoffs": {n: dict(c.cutoffs) for n, c in self.comparisons.items() if c.cutoffs},
            "term_frequency": None
            if set(self.term_frequency) == set(TERM_FREQUENCY_FIELDS)
            else frozenset(tf_fields),
            "households": self.household,
            "audit_sample": self.audit.sample_size,
            "audit_seed": self.audit.seed,
            "fingerprint": self.fingerprint(),
        }
        return MatchSettings(**{**values, **overrides})


def load_matching(sources_dir: Path) -> MatchingConfig:
    """DIR/matching.yaml, checked; the defaults when there is none."""
    path = sources_dir / MATCHING_FILE
    if not path.is_file():
        return MatchingConfig()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path}: not valid YAML: {first}") from exc
    if document is None:
        return MatchingConfig()
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a mapping of settings (see docs/matching.md)")
    try:
        return MatchingConfig(**document)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_problem(exc)}") from exc


def _problem(exc: ValidationError) -> str:
    """key 'a.b': the problem, for the first error pydantic found."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"key '{key}': unknown key"
    return f"key '{key}': {str(error['msg']).removeprefix('Value error, ')}"
