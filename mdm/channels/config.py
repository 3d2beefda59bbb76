"""channels.yaml: how each channel's files map to the standard record (SPEC §1).

Loading validates everything that can be checked without reading data: known canonical fields,
formats, units, encodings, and that each channel's glob matches at least one file.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mdm.errors import ConfigError
from mdm.schema import (
    AMOUNT_FIELDS,
    CANONICAL_FIELDS,
    REQUIRED_TRANSACTION_FIELDS,
    TRANSACTION_FIELDS,
)

CHANNELS_FILE = "channels.yaml"
Format = Literal["csv", "jsonl", "xlsx", "parquet", "sql"]
Unit = Literal["yuan", "wan", "yi"]
Kind = Literal["customers", "transactions"]


class ChannelConfig(BaseModel):
    """One channel as written in channels.yaml."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Kind = "customers"
    ref_channel: str | None = None  # transactions: the channel whose record ids customer_ref holds
    path: str | None = None
    format: Format = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","  # csv: one character, or "auto" to sniff it
    header_row: int = Field(default=1, ge=1)  # csv, xlsx: the row holding the header
    sheet: str | int | None = None
    url: str | None = None  # SQLAlchemy URL, format: sql
    query: str | None = None  # table name or SELECT, format: sql
    record_id: str
    trust: int = Field(default=50, ge=0, le=100)
    columns: dict[str, str | list[str]]
    defaults: dict[str, str | int | float | bool] = Field(default_factory=dict)
    units: dict[str, Unit] = Field(default_factory=dict)
    formats: dict[str, str] = Field(default_factory=dict)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        if value != "auto":
            try:
                codecs.lookup(value)
            except LookupError as exc:
                raise ValueError(f"unknown encoding {value!r}") from exc
        return value

    @field_validator("query")
    @classmethod
    def _one_statement(cls, value: str | None) -> str | None:
        # One statement, so no COMMIT or SET can end the read-only transaction it runs in.
        if value is not None and ";" in value.strip().rstrip(";"):
            raise ValueError("a query is one statement (no ';' inside it)")
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if value != "auto" and len(value) != 1:
            raise ValueError(f"a delimiter is one character or 'auto', not {value!r}")
        return value

    def source_columns(self) -> list[str]:
        """Every column of the source this channel reads, record id first, no repeats."""
        wanted = [self.record_id]
        for source in self.columns.values():
            wanted.extend([source] if isinstance(source, str) else source)
        return list(dict.fromkeys(wanted))


class ChannelsConfig(BaseModel):
    """The whole channels.yaml, with paths resolved against its folder."""

    base_dir: Path
    channels: list[ChannelConfig]  # customer channels
    transactions: list[ChannelConfig] = Field(default_factory=list)  # kind: transactions feeds

    def files(self, channel: ChannelConfig) -> list[Path]:
        """The files a channel's glob matches, sorted so runs are deterministic.

        Only files inside the sources folder: a path that leaves it (absolute, `..`, or a
        symlink pointing out) is refused before anything is read, so no message can quote it.
        """
        assert channel.path is not None
        where = f"{self.base_dir / CHANNELS_FILE}: channel '{channel.name}'"
        pattern = Path(channel.path)
        if pattern.is_absolute() or pattern.drive or ".." in pattern.parts:
            raise ConfigError(
                f"{where}: path '{channel.path}' is outside the sources folder {self.base_dir}"
                " (paths are relative to channels.yaml)"
            )
        found = sorted(p for p in self.base_dir.glob(channel.path) if p.is_file())
        for path in found:
            if not path.resolve().is_relative_to(self.base_dir):
                raise ConfigError(
                    f"{where}: path '{channel.path}': {path.relative_to(self.base_dir)} links"
                    f" outside the sources folder {self.base_dir}"
                )
        return found


def load_channels(sources_dir: Path) -> ChannelsConfig:
    """Read and check DIR/channels.yaml; every problem is a ConfigError naming channel and field."""
    config_path = sources_dir / CHANNELS_FILE
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: no channels.yaml found (see docs/channels.md)")
    try:
        document = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: not valid YAML: {_first_line(exc)}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("channels"), dict):
        raise ConfigError(f"{config_path}: expected a top-level 'channels:' mapping")
    if not document["channels"]:
        raise ConfigError(f"{config_path}: 'channels:' is empty")

    channels = [
        _parse_channel(config_path, name, body) for name, body in document["channels"].items()
    ]
    customer_channels = [c for c in channels if c.kind == "customers"]
    feeds = [c for c in channels if c.kind == "transactions"]
    for feed in feeds:
        if feed.ref_channel not in {c.name for c in customer_channels}:
            raise ConfigError(
                f"{config_path}: channel '{feed.name}': ref_channel '{feed.ref_channel}'"
                " is not a customer channel of this file"
            )
    config = ChannelsConfig(
        base_dir=sources_dir.resolve(), channels=customer_channels, transactions=feeds
    )
    for channel in channels:
        if channel.format != "sql" and not config.files(channel):
            raise ConfigError(
                f"{config_path}: channel '{channel.name}': no file matches path '{channel.path}'"
            )
    return config


def _parse_channel(config_path: Path, name: object, body: object) -> ChannelConfig:
    where = f"{config_path}: channel '{name}'"
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: expected a mapping of settings")
    try:
        channel = ChannelConfig(name=str(name), **body)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"{where}: field '{field}': {error['msg']}") from exc

    if channel.kind == "transactions":
        return _check_transactions(where, channel)
    unknown = sorted((set(channel.columns) | set(channel.defaults)) - set(CANONICAL_FIELDS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown canonical field '{unknown[0]}' (known: see docs/channels.md)"
        )
    for field in channel.units:
        if field not in AMOUNT_FIELDS:
            raise ConfigError(f"{where}: units: '{field}' is not an amount field {AMOUNT_FIELDS}")
    for field in channel.formats:
        if field not in CANONICAL_FIELDS:
            raise ConfigError(f"{where}: formats: unknown canonical field '{field}'")
    if channel.format == "sql":
        if not channel.url or not channel.query:
            raise ConfigError(f"{where}: format sql needs 'url' and 'query'")
    elif not channel.path:
        raise ConfigError(f"{where}: field 'path' is required for format {channel.format}")
    return channel


def _check_transactions(where: str, channel: ChannelConfig) -> ChannelConfig:
    """A transactions feed (SPEC §2) maps the transaction fields and names its ref_channel."""
    fields = set(channel.columns) | set(channel.defaults)
    unknown = sorted(fields - set(TRANSACTION_FIELDS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown transaction field '{unknown[0]}'"
            f" (known: {', '.join(TRANSACTION_FIELDS)})"
        )
    missing = [name for name in REQUIRED_TRANSACTION_FIELDS if name not in fields]
    if missing:
        raise ConfigError(f"{where}: a transactions channel needs column '{missing[0]}'")
    if not channel.ref_channel:
        raise ConfigError(f"{where}: a transactions channel needs 'ref_channel'")
    if channel.units:
        raise ConfigError(f"{where}: units: transaction amounts are in yuan")
    if not channel.path and channel.format != "sql":
        raise ConfigError(f"{where}: field 'path' is required for format {channel.format}")
    return channel


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
