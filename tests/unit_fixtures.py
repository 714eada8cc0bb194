"""Helpers shared by the unit tests, imported explicitly (tests/conftest.py has the common
fixtures: ``shared_data``, ``home``, ``xtui``)."""

from __future__ import annotations

import pytest


def spec_data(**overrides) -> dict:
    """A minimal valid spec as a dict; keyword arguments replace top-level fields."""
    data = {"name": "unit", "model": "tiny", "target": {"task": "demo_sentiment", "languages": ["de"]}}
    data.update(overrides)
    return data


@pytest.fixture
def registry(monkeypatch):
    """The real plugin registry (built-in plugins through their entry points), with no
    XTUI_DATA_DIR leaking in from the caller's environment."""
    from xtui.plugins import load_plugins

    monkeypatch.delenv("XTUI_DATA_DIR", raising=False)
    return load_plugins(strict=False, refresh=True)
