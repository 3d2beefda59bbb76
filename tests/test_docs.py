"""The documentation keeps up with the code (datasette's practice): every command and option
of `mdm`, every setting and every warehouse table is named in README.md or docs/."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer.main

from mdm.cli.app import app
from mdm.schema import CANONICAL_FIELDS
from mdm.settings import ProcessSettings
from warehouse.models import Base

ROOT = Path(__file__).parents[1]
DOCS = "\n".join(
    path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)


def _commands(group: click.Command, prefix: str = "mdm") -> list[tuple[str, click.Command]]:
    """Every command under a group, sub-groups' included. (Typer's own classes are not always
    click's subclasses, so groups and options are told apart by what they have.)"""
    found = []
    for name, command in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}"
        found.append((path, command))
        found.extend(_commands(command, path))
    return found


COMMANDS = _commands(typer.main.get_command(app))


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS])
def test_every_command_is_documented(path: str) -> None:
    assert f"`{path}" in DOCS or f"{path} " in DOCS, f"{path} is in no doc"


OPTIONS = [
    (path, option)
    for path, command in COMMANDS
    if not hasattr(command, "commands")
    for parameter in command.params
    if parameter.param_type_name == "option"
    for option in parameter.opts
    if option.startswith("--") and option != "--help"
]


@pytest.mark.parametrize(("path", "option"), OPTIONS)
def test_every_option_is_documented(path: str, option: str) -> None:
    assert option in DOCS, f"{path} {option} is in no doc"


@pytest.mark.parametrize("name", sorted(ProcessSettings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"MDM_{name.upper()}" in DOCS


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_every_warehouse_table_is_documented(table: str) -> None:
    assert f"`{table}`" in (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("table", "column"),
    [
        (t.name, c.name)
        for t in Base.metadata.sorted_tables
        for c in t.columns
        # the customer's "canonical fields" are each documented in docs/channels.md (below)
        if not (t.name == "customer" and c.name in CANONICAL_FIELDS)
    ],
)
def test_every_warehouse_column_is_documented(table: str, column: str) -> None:
    assert f"`{column}`" in (ROOT / "docs" / "warehouse.md").read_text(encoding="utf-8")


def test_every_canonical_field_is_documented() -> None:
    channels = (ROOT / "docs" / "channels.md").read_text(encoding="utf-8")
    missing = [name for name in CANONICAL_FIELDS if f"`{name}`" not in channels]
    assert not missing, f"canonical fields not in docs/channels.md: {missing}"
