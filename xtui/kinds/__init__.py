"""Kinds: how a task is modelled. A kind owns featurisation, head, decoding and metric.

Kinds are registered by name with a ``"module:Class"`` path and imported only in the
worker, so listing tasks never imports torch.
"""

from __future__ import annotations

import importlib


def load_kind_class(target: str):
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)
