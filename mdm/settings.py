"""Process settings, read once from the environment (prefix MDM_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WAREHOUSE_URL = "sqlite:///warehouse.db"


class ProcessSettings(BaseSettings):
    """Where the warehouse is and where run reports go; secrets never come from code."""

    model_config = SettingsConfigDict(env_prefix="MDM_")

    warehouse_url: str = DEFAULT_WAREHOUSE_URL
    reports_dir: Path = Path("mdm_reports")
    # maker-checker (docs/stewardship.md#four-eyes): value tiers whose customers' merges,
    # splits and value changes wait for a second steward, and the bulk size above which any
    # bulk action does
    four_eyes_tiers: list[str] = ["diamond", "platinum"]
    four_eyes_bulk: int = 100

    @field_validator("warehouse_url")
    @classmethod
    def _not_a_placeholder(cls, value: str) -> str:
        if not value.strip() or "<" in value or "changeme" in value.lower():
            raise ValueError(f"MDM_WAREHOUSE_URL looks like a placeholder: {value!r}")
        return value
