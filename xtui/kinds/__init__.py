"""Kinds: how a task is modelled. A kind owns featurisation, head, batching, decoding and metric.

The built-in kinds are registered here through the same hook as a plugin's
(``hookspecs.register_kinds``), by name with a ``"module:Class"`` path and what the planner must
know without importing torch (whether the kind trains, its head's poolings, its default scorer).
The classes are imported only in the worker (:func:`load_kind_class`), so listing tasks never
imports torch. The kind-plugin API is :class:`xtui.kinds.base.Kind`.
"""

from __future__ import annotations

import importlib
from typing import Optional

from ..hookspecs import hookimpl

MIXTURE = "mixture"
"""The kind of a multi-task intermediate stage (one head per member task)."""

BUILTIN = (
    # name, "module:Class", version, what the registry records
    ("classification", "xtui.kinds.classification:ClassificationKind", "1",
     {"poolings": ("cls", "mean"), "default_scorer": "classification"}),
    ("tagging", "xtui.kinds.tagging:TaggingKind", "1", {"default_scorer": "seqeval"}),
    # its encoder is read directly: the spec's layer, pooling and retrieval_preset choose how (xtui.plan)
    ("retrieval", "xtui.kinds.retrieval:RetrievalKind", "1",
     {"trains": False, "poolings": ("mean", "cls"), "default_scorer": "tatoeba"}),
    ("qa", "xtui.kinds.qa:QAKind", "1", {"default_scorer": "squad"}),
    ("multiple_choice", "xtui.kinds.multiple_choice:MultipleChoiceKind", "1",
     {"poolings": ("cls", "mean"), "default_scorer": "accuracy"}),
    # 2: candidate = sentence + context
    ("answer_retrieval", "xtui.kinds.answer_retrieval:AnswerRetrievalKind", "2", {"default_scorer": "lareqa"}),
    ("entity_retrieval", "xtui.kinds.entity_retrieval:EntityRetrievalKind", "1", {"default_scorer": "mewslix"}),
    (MIXTURE, "xtui.kinds.mixture:MixtureKind", "1", {}),
)


@hookimpl
def register_kinds(register):
    """The built-in kinds, registered like any plugin's."""
    for name, target, version, capabilities in BUILTIN:
        register(name, target, version, **capabilities)


def builtin_default_scorer(kind: str) -> Optional[str]:
    """The default scorer of a built-in kind (for a kind built outside a stage, e.g. in a test)."""
    return next((c.get("default_scorer") for name, _, _, c in BUILTIN if name == kind), None)


def load_kind_class(target: str):
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def build_kind(target: str, task, tokenizer, max_length: int, language: str, scorer: Optional[str] = None,
               pooling: Optional[str] = None):
    """The kind ``target`` (``"module:Class"``) for ``task`` as a stage runs it (``Kind.for_task``)."""
    return load_kind_class(target).for_task(task, tokenizer, max_length, language, scorer, pooling)
