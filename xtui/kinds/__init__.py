"""Kinds: how a task is modelled. A kind owns featurisation, head, decoding and metric.

Kinds are registered by name with a ``"module:Class"`` path and imported only in the
worker, so listing tasks never imports torch.
"""

from __future__ import annotations

import importlib
from typing import Optional


def load_kind_class(target: str):
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def build_kind(target: str, task, tokenizer, max_length: int, language: str, scorer: Optional[str] = None):
    """The kind ``target`` (``"module:Class"``) for ``task`` as a stage runs it: the task's
    labels and options plus the stage's ``language``, scored by the scorer named ``scorer`` (the
    stage's), else the task's own (``Task.scorer`` or its kind's default)."""
    from ..scorers import get_scorer, scorer_name

    kind = load_kind_class(target)(task.labels, tokenizer, max_length, {**task.options, "language": language})
    name = scorer or scorer_name(task)
    if name:
        kind.scorer = get_scorer(name)
    return kind
