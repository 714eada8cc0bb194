"""xtui's built-in XTREME plugin: XNLI, PAWS-X, BUCC, Tatoeba, UD-POS, PAN-X, XQuAD, MLQA,
TyDiQA, XCOPA, LAReQA and Mewsli-X as target tasks, and the English intermediate tasks MNLI, QQP,
SST-2, ANLI, ANLI+, SQuAD v1.1/2.0, HellaSwag, CosmosQA, CommonsenseQA, SocialIQA and CCG (local
CCGbank).

Registered through the ``xtui`` entry point group (``xtreme = "xtui_xtreme"``), exactly as a
third-party plugin would be. The tables behind the tasks live in :mod:`xtui_xtreme.tasks`.
"""

from __future__ import annotations

from xtui.hookspecs import hookimpl

from .tasks import build_tasks

__all__ = ["register_tasks", "build_tasks"]


@hookimpl
def register_tasks(register):
    for task in build_tasks():
        register(task)
