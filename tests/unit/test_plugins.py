"""Broken plugins are reported and everything else keeps working; strict mode makes them errors
(the same through the CLI: tests/integration/test_plugins.py)."""

from __future__ import annotations

import pytest

from support.fake_plugins import DIST, VERSION, fake_site, forget_modules, write_distribution  # noqa: F401  (a fixture)
from xtui.errors import PluginError
from xtui.plugins import load_plugins


def by_name(registry) -> dict:
    return {plugin.name: plugin for plugin in registry.plugins}


def test_broken_plugins_are_reported_and_others_keep_working(fake_site):
    registry = load_plugins(refresh=True)
    plugins = by_name(registry)
    assert {"broken", "garbage", "zz_dupe", "raising", "good", "demo", "xtreme"} <= set(plugins)

    broken = plugins["broken"]
    assert (broken.distribution, broken.version, broken.module) == (DIST, VERSION, "fake_broken")
    assert broken.error == "RuntimeError: boom at import"

    garbage = plugins["garbage"].error
    assert "expected an xtui.tasks.Task, got object" in garbage
    assert "unknown kind 'no_such_kind'" in garbage
    assert "weird" not in registry.tasks

    dupe = plugins["zz_dupe"]
    assert "'xnli' is already registered by plugin xtreme" in dupe.error and dupe.tasks == []
    assert registry.task_plugin["xnli"] == "xtreme"
    assert registry.tasks["xnli"].kind == "classification" and "sw" in registry.tasks["xnli"].languages

    assert plugins["raising"].error == "ValueError: hook exploded"
    assert all("\n" not in (p.error or "") for p in registry.plugins)

    assert {p.name for p in registry.failed} == {"broken", "garbage", "zz_dupe", "raising"}
    assert plugins["good"].error is None and plugins["good"].tasks == ["fake_ok"]
    assert registry.task_plugin["fake_ok"] == "good"
    for name in ("demo_sentiment", "demo_entities", "demo_nli", "xnli", "panx", "mnli"):
        assert name in registry.tasks, name
    assert plugins["demo"].error is None and plugins["xtreme"].error is None


def test_strict_mode_raises(fake_site, monkeypatch):
    monkeypatch.setenv("XTUI_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as caught:
        load_plugins(refresh=True)
    message = str(caught.value)
    assert "\n" not in message
    assert message == f"plugin broken ({DIST} {VERSION}) failed: RuntimeError: boom at import"
    monkeypatch.setenv("XTUI_STRICT_PLUGINS", "0")
    assert load_plugins(refresh=True).failed
    with pytest.raises(PluginError):
        load_plugins(strict=True, refresh=True)


def test_registry_is_cached_until_refreshed(fake_site):
    first = load_plugins(refresh=True)
    assert load_plugins() is first
    assert load_plugins(refresh=True) is not first


def test_builtin_task_wins_over_a_third_party_duplicate(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_distribution(site, {"aa_dupe": "fake_dupe"})
    monkeypatch.syspath_prepend(str(site))
    try:
        registry = load_plugins(strict=False, refresh=True)
        assert registry.task_plugin["xnli"] == "xtreme"
        assert by_name(registry)["xtreme"].error is None
    finally:
        monkeypatch.undo()
        forget_modules()
        load_plugins(strict=False, refresh=True)
