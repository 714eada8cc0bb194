"""Fixtures for the app's tests: an isolated XTUI_HOME (UTC, offline) and hand-written run directories."""

from __future__ import annotations

import os
import time

import pytest

from xtui.store import RunStore

from .fake_runs import T0, write_experiment

os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture
def home(tmp_path, monkeypatch):
    path = tmp_path / "runs"
    monkeypatch.setenv("XTUI_HOME", str(path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("XTUI_DATA_DIR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(tmp_path)
    return path


@pytest.fixture
def store(home) -> RunStore:
    return RunStore(home)


@pytest.fixture
def two_experiments(store):
    """Two finished experiments that differ in the target learning rate and shot sets."""
    first = write_experiment(store, "20231114-221320-baseline-aaaa", name="baseline", created=T0)
    second = write_experiment(store, "20231115-080000-higher-lr-bbbb", name="higher-lr", created=T0 + 35_000,
                              learning_rate=3e-4, shot_sets=2, offset=0.02)
    return first, second


SNAPSHOT_TASKS = ("demo_entities", "demo_nli", "demo_sentiment", "xnli")


def snapshot_registry():
    """The real registry cut down to a fixed set of tasks, so snapshots do not change when a plugin grows."""
    import copy

    from xtui.plugins import load_plugins

    registry = copy.copy(load_plugins())
    registry.tasks = {name: task for name, task in registry.tasks.items() if name in SNAPSHOT_TASKS}
    registry.task_plugin = {name: plugin for name, plugin in registry.task_plugin.items() if name in SNAPSHOT_TASKS}
    registry.kinds = {name: kind for name, kind in registry.kinds.items()
                      if any(task.kind == name for task in registry.tasks.values())}
    registry.models = {}
    registry.plugins = [copy.copy(p) for p in registry.plugins]
    for plugin in registry.plugins:
        plugin.tasks = [t for t in plugin.tasks if t in SNAPSHOT_TASKS]
        plugin.version = "0.1.0"
    return registry


def make_app(store, **kwargs):
    from xtui.tui.app import XtuiApp

    return XtuiApp(store=store, **kwargs)


async def wait_for(pilot, condition, timeout: float = 30.0, what: str = "") -> None:
    # generous: on two loaded cores (the Slurm tests on the other worker) a 200x60 screen took over 10 s to settle
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}; the screen shows:\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)


def screen_text(app) -> str:
    """The text on the screen, as drawn (what a person reads)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
