"""Errors a user can act on: the CLI prints them as one line and exits non-zero, no traceback."""

from __future__ import annotations


class MdmError(Exception):
    """Base of every error that is the user's input, not our bug."""


class ConfigError(MdmError):
    """channels.yaml (or another configuration) is missing or wrong."""


class SourceError(MdmError):
    """A channel's data cannot be read: missing file, wrong encoding, missing column."""


class TableCheckError(MdmError):
    """A warehouse table about to be loaded fails a critical rule of its suite."""
