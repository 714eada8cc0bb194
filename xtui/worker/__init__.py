"""The worker: runs one stage, or a group of stages that share a parent checkpoint.

Launched by the executor as ``python -m xtui.worker STAGE_DIR [STAGE_DIR ...]`` (or through
``accelerate launch`` for stages of several processes). It never talks to the UI or the index: it
reads each ``stage.json`` (``xtui.stage.StageConfig``), appends one JSON event per line to
``events.jsonl``, saves a safetensors checkpoint and writes ``result.json`` atomically, last.

The package: ``main`` (entry point, signals, heartbeat), ``events``, ``device`` (Accelerate,
precision, MFU peak), ``data`` (tasks, tokenizers, examples and the feature cache), ``model``
(building from the parent, restoring it between a group's stages, checkpoints), ``training`` (the
loop, resumable checkpoints, the batch-size search), ``evaluation``, and ``runners``: one runner
per stage type, in a registry. Importing it imports nothing heavy; torch comes with ``Worker``.
"""

from __future__ import annotations

from .main import main


def __getattr__(name: str):
    """``Worker`` and ``Events`` for scripts and benchmarks, imported (with torch) only when asked for."""
    if name == "Worker":
        from .runners import Worker

        return Worker
    if name == "Events":
        from .events import Events

        return Events
    if name == "quiet_libraries":
        from .device import quiet_libraries

        return quiet_libraries
    raise AttributeError(name)


__all__ = ["Events", "Worker", "main", "quiet_libraries"]
