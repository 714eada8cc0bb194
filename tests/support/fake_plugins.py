"""A fake plugin distribution: broken, garbage, duplicate, raising and good plugins.

A real distribution is written to tmp_path (a ``*.dist-info`` with ``entry_points.txt`` in
the ``xtui`` group) and put on ``sys.path``, so plugins are found exactly as installed ones are.
"""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

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


def forget_modules() -> None:
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
    forget_modules()
    importlib.invalidate_caches()
    registry = load_plugins(strict=False, refresh=True)
    assert "fake_ok" not in registry.tasks and not registry.failed, "registry restored"
