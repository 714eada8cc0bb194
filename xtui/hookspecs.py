"""The plugin API: hooks a plugin implements with ``@xtui.hookimpl``.

A plugin is a Python package that declares an entry point in the ``xtui`` group::

    [project.entry-points.xtui]
    my_tasks = "my_package"

and implements one or more of the hooks below in that module.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("xtui")
hookimpl = pluggy.HookimplMarker("xtui")


@hookspec
def register_tasks(register):
    """Register tasks: call ``register(task)`` once per ``xtui.tasks.Task``."""


@hookspec
def register_kinds(register):
    """Register kinds: call ``register(name, "module:Class", version)`` per kind.

    The class is imported only inside the worker, so registering costs no import of torch. A kind whose
    head pools a sequence passes ``poolings=("cls", "mean")`` (what a spec's ``pooling`` may choose; the
    worker sets the kind's ``pooling`` attribute before ``build_head``).
    """


@hookspec
def register_models(register):
    """Register model presets: call ``register(name, resolver, description)``.

    ``resolver()`` returns a model id or local path (or a ``"tiny:"`` config string).
    """
