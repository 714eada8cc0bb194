"""Errors a user can cause. They are told in one line, never with a traceback."""

from __future__ import annotations


class XtuiError(Exception):
    """A user-facing error: its message is one line naming the culprit and what is valid."""

    exit_code = 2


class SpecError(XtuiError):
    """The spec (file, field or override) is invalid."""


class DataError(XtuiError):
    """A data file is missing or malformed, or a task cannot find its data."""

    exit_code = 1


class PluginError(XtuiError):
    """A plugin failed to load or registered something invalid (only raised when strict)."""

    exit_code = 1


class StoreError(XtuiError):
    """The run directory or the index cannot be read or written."""

    exit_code = 1
