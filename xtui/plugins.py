"""Loading plugins: every entry point of the ``xtui`` group, each in its own try/except.

A plugin that fails to import, raises in a hook or registers something invalid is
recorded with its error and everything else keeps working: any exception, ``SystemExit`` and
``KeyboardInterrupt`` raised by the plugin's own code included (a real Ctrl-C still stops xtui). ``XTUI_STRICT_PLUGINS=1``
turns such failures into an error, for plugin authors.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Callable, Optional

import pluggy

from . import hookspecs
from .errors import PluginError
from .tasks import Task, validate_task

ENTRY_POINT_GROUP = "xtui"

@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str
    version: str
    tasks: list = field(default_factory=list)
    error: Optional[str] = None


@dataclass
class KindInfo:
    """A registered kind: where its class is, and what the planner knows of it without importing it."""

    name: str
    target: str
    version: str
    plugin: str
    poolings: tuple = ()
    """The ``pooling`` choices of its head (empty: it does not pool a sequence)."""
    trains: bool = True
    """False: its stages never train; the parent's encoder is evaluated directly (sentence retrieval)."""
    default_scorer: Optional[str] = None
    """The scorer of a task of this kind that names none (``xtui.scorers``)."""


@dataclass
class ModelPreset:
    name: str
    resolve: Callable[[], str]
    description: str
    plugin: str


@dataclass
class Registry:
    plugins: list = field(default_factory=list)
    tasks: dict = field(default_factory=dict)
    task_plugin: dict = field(default_factory=dict)
    kinds: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)

    @property
    def failed(self) -> list:
        return [p for p in self.plugins if p.error]

    def task(self, name: str) -> Task:
        from .errors import SpecError

        if name not in self.tasks:
            raise SpecError(f"unknown task {name!r}; known tasks: {', '.join(sorted(self.tasks))}")
        return self.tasks[name]


_REGISTRY: Optional[Registry] = None


def _entry_points():
    """Built-in plugins (shipped with xtui) first, so a third-party plugin can never take a built-in task's name."""
    def key(ep):
        dist = getattr(ep, "dist", None)
        return (0 if dist is not None and dist.name == "xtui" else 1, ep.name)

    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=key)


def load_plugins(strict: Optional[bool] = None, refresh: bool = False) -> Registry:
    """Load every installed plugin once; later calls return the same registry."""
    global _REGISTRY
    if _REGISTRY is not None and not refresh:
        return _REGISTRY
    if strict is None:
        strict = os.environ.get("XTUI_STRICT_PLUGINS", "") not in ("", "0")
    registry = Registry()
    from . import __version__, kinds

    # the built-in kinds through the same hook as any plugin's (never a failure a user could cause)
    _register_module(registry, PluginInfo("kinds", "xtui.kinds", "xtui", __version__), kinds)
    with _user_interrupts() as interrupted:
        _load_entry_points(registry, strict, interrupted)
    _REGISTRY = registry
    return registry


@contextmanager
def _user_interrupts():
    """While plugins load, a SIGINT (the user's Ctrl-C) is recorded before it raises, so that a
    KeyboardInterrupt raised by a plugin's own code can be told from it. Only the main thread
    receives signals; elsewhere every KeyboardInterrupt comes from code."""
    state = {"signalled": False}
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if previous is None:
        yield state
        return

    def record(signum, frame):
        state["signalled"] = True
        if callable(previous):
            previous(signum, frame)  # the default handler raises KeyboardInterrupt
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, record)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def _failure(error: BaseException) -> str:
    """``SystemExit: 3``: the first line of what a plugin raised."""
    text = str(error).strip()
    return (f"{type(error).__name__}: {text}" if text else type(error).__name__).splitlines()[0]


def _load_entry_points(registry: Registry, strict: bool, interrupted: dict) -> None:
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=dist.name if dist else "?",
            version=dist.version if dist else "?",
        )
        registry.plugins.append(info)
        try:
            module = ep.load()
            _register_module(registry, info, module)
        except KeyboardInterrupt as error:
            if interrupted["signalled"]:  # the user pressed Ctrl-C: stop, as anywhere else
                raise
            info.error = _failure(error)
        except BaseException as error:  # a broken plugin must not take xtui down, sys.exit() included
            info.error = _failure(error)
        if info.error and strict:
            raise PluginError(f"plugin {info.name} ({info.distribution} {info.version}) failed: {info.error}")


def _register_module(registry: Registry, info: PluginInfo, module) -> None:
    manager = pluggy.PluginManager("xtui")
    manager.add_hookspecs(hookspecs)
    manager.register(module, name=info.name)
    problems: list[str] = []
    kinds: dict = {}
    tasks: list = []
    models: dict = {}

    def register_kind(name, target, version="1", poolings=(), trains=True, default_scorer=None):
        if not isinstance(name, str) or ":" not in str(target):
            problems.append(f"invalid kind registration {name!r} -> {target!r} (want 'module:Class')")
            return
        if not all(p in ("cls", "mean") for p in poolings):
            problems.append(f"kind {name!r}: poolings must be among 'cls', 'mean' (got {tuple(poolings)!r})")
            return
        if default_scorer is not None:
            from .scorers import SCORERS

            if default_scorer not in SCORERS:
                problems.append(f"kind {name!r}: unknown default scorer {default_scorer!r} (known: {', '.join(sorted(SCORERS))})")
                return
        kinds[name] = KindInfo(name, target, str(version), info.name, tuple(poolings), bool(trains), default_scorer)

    def register_task(task):
        tasks.append(task)

    def register_model(name, resolver, description=""):
        if not isinstance(name, str) or not callable(resolver):
            problems.append(f"invalid model preset {name!r} (want a name and a callable)")
            return
        models[name] = ModelPreset(name, resolver, description, info.name)

    manager.hook.register_kinds(register=register_kind)
    manager.hook.register_models(register=register_model)
    manager.hook.register_tasks(register=register_task)
    known_kinds = set(registry.kinds) | set(kinds)
    good = []
    for task in tasks:
        task_problems = validate_task(task, sorted(known_kinds))
        if not task_problems and task.name in registry.tasks:
            task_problems = [
                f"task {task.name!r} is already registered by plugin {registry.task_plugin[task.name]}"
            ]
        if task_problems:
            problems.extend(task_problems)
        else:
            good.append(task)
    registry.kinds.update(kinds)
    registry.models.update(models)
    for task in good:
        registry.tasks[task.name] = task
        registry.task_plugin[task.name] = info.name
        info.tasks.append(task.name)
    if problems:
        info.error = "; ".join(problems)


def print_failures(registry: Registry, stream=sys.stderr) -> None:
    for plugin in registry.failed:
        print(f"xtui: plugin {plugin.name} ({plugin.distribution} {plugin.version}) failed: {plugin.error}", file=stream)
