"""Broken plugins are reported and everything else keeps working; strict mode makes them errors.

A real distribution is written to tmp_path (a ``*.dist-info`` with ``entry_points.txt`` in
the ``xtui`` group) and put on ``sys.path``, so plugins are found exactly as installed ones are.
"""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import pytest

from xtui.errors import PluginError
from xtui.plugins import load_plugins

DIST = "fake-xtui-plugins"
VERSION = "0.3"

MODULES = {
    # (a) raises at import, with a two-line message: only the first line is kept
    "fake_broken": 'raise RuntimeError("boom at import\\nsecond line")\n',
    # (b) registers garbage: not a Task, and a Task of an unknown kind
    "fake_garbage": """\
        from xtui.hookspecs import hookimpl
        from xtui.tasks import Task

        @hookimpl
        def register_tasks(register):
            register(object())
            register(Task(name="weird", kind="no_such_kind", languages=("en",), metric="accuracy",
                          generate=lambda language, split: []))
        """,
    # (c) registers a task name that the built-in xtreme plugin already has
    "fake_dupe": """\
        from xtui.hookspecs import hookimpl
        from xtui.tasks import Task

        @hookimpl
        def register_tasks(register):
            register(Task(name="xnli", kind="classification", languages=("en",), metric="accuracy",
                          generate=lambda language, split: []))
        """,
    # a hook that raises
    "fake_raising": """\
        from xtui.hookspecs import hookimpl

        @hookimpl
        def register_tasks(register):
            raise ValueError("hook exploded")
        """,
    # a good plugin next to the broken ones
    "fake_good": """\
        from xtui.hookspecs import hookimpl
        from xtui.tasks import Task

        @hookimpl
        def register_tasks(register):
            register(Task(name="fake_ok", kind="classification", languages=("en", "de"), metric="accuracy",
                          labels=("a", "b"), generate=lambda language, split: [], generator_version="1"))
        """,
}

ENTRY_POINTS = {"broken": "fake_broken", "garbage": "fake_garbage", "zz_dupe": "fake_dupe",
                "raising": "fake_raising", "good": "fake_good"}


def write_distribution(folder, entry_points=ENTRY_POINTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in MODULES.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = folder / f"{DIST.replace('-', '_')}-{VERSION}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {VERSION}\n", encoding="utf-8")
    lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (info / "entry_points.txt").write_text("[xtui]\n" + lines, encoding="utf-8")


def _forget_modules() -> None:
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    """The fake distribution on sys.path; afterwards the path is gone and the registry rebuilt."""
    site = tmp_path / "site"
    write_distribution(site)
    monkeypatch.delenv("XTUI_STRICT_PLUGINS", raising=False)
    monkeypatch.syspath_prepend(str(site))
    yield site
    monkeypatch.undo()
    _forget_modules()
    importlib.invalidate_caches()
    registry = load_plugins(strict=False, refresh=True)
    assert "fake_ok" not in registry.tasks and not registry.failed, "registry restored"


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
        _forget_modules()
        load_plugins(strict=False, refresh=True)


# --------------------------------------------------------------------------- through the CLI (real subprocesses)

def test_cli_plugins_lists_failures_and_exits_zero(fake_site, xtui):
    result = xtui("plugins", "--json", env={"PYTHONPATH": str(fake_site), "XTUI_STRICT_PLUGINS": "0"})
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["broken"]["error"] == "RuntimeError: boom at import"
    assert plugins["broken"]["distribution"] == DIST and plugins["broken"]["version"] == VERSION
    assert "already registered" in plugins["zz_dupe"]["error"]
    assert plugins["good"]["error"] is None and plugins["good"]["tasks"] == ["fake_ok"]
    assert plugins["xtreme"]["error"] is None and "xnli" in plugins["xtreme"]["tasks"]


def test_cli_strict_tasks_fails_in_one_line(fake_site, xtui):
    result = xtui("tasks", env={"PYTHONPATH": str(fake_site), "XTUI_STRICT_PLUGINS": "1"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"xtui: error: plugin broken ({DIST} {VERSION}) failed: RuntimeError: boom at import"]
