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


def datasets_cache_with(monkeypatch, folder, *configs) -> None:
    """Point ``datasets``' cache at ``folder`` holding ``(dataset, config)`` as an offline
    ``load_dataset`` finds them (``<namespace>___<name>/<config>/<version>/<hash>/``), so that a plan
    of Hub tasks passes the offline check (xtui.validate.check_hub_cached) without any download."""
    from xtui.validate import _snake

    for dataset, config in configs:
        namespace, name = dataset.split("/")
        (folder / f"{namespace}___{_snake(name)}" / config / "0.0.0" / ("0" * 16)).mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(folder))
