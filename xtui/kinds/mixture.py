"""Multi-task intermediate training: one shared encoder, one head per task of the mixture.

A mixture stage's features are its tasks' training features laid end to end, each tagged
with its task's index (``mixture_task``). Every batch holds one task (see
:class:`xtui.batching.MixtureBatchSampler`); ``collate`` uses that task's kind and adds
``task_index``, which :class:`xtui.kinds.base.TaskModel` passes to :class:`MixtureHeads`
and ``loss`` uses to pick the task's loss. The checkpoint is the shared encoder (what the
target stage continues from) and every head, keyed by task name.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..batching import MixtureBatchSampler, mixture_weights
from .base import Kind

TASK_KEY = "mixture_task"


class MixtureHeads(nn.Module):
    """The heads of a mixture's tasks; ``active`` picks one when no ``task_index`` is given
    (evaluation of one member)."""

    uses_mask = True

    def __init__(self, names: Sequence[str], heads: Sequence[nn.Module]):
        super().__init__()
        self.names = list(names)
        self.heads = nn.ModuleDict(dict(zip(self.names, heads)))
        self.active = 0

    def forward(self, hidden, task_index=None, attention_mask=None):
        index = self.active if task_index is None else int(task_index)
        head = self.heads[self.names[index]]
        return head(hidden, attention_mask=attention_mask) if getattr(head, "uses_mask", False) else head(hidden)


class MixtureKind(Kind):
    """Wraps the kinds of the mixture's tasks (built by the worker, one per member)."""

    name = "mixture"

    def __init__(self, names: Sequence[str], kinds: Sequence[Kind], sampling: str = "proportional",
                 temperature: float = 2.0):
        first = kinds[0]
        super().__init__([], first.tokenizer, first.max_length, {"sampling": sampling, "temperature": temperature})
        self.names = list(names)
        self.kinds = list(kinds)
        self.sampling = sampling
        self.temperature = temperature
        self.sizes: list = []
        self.weights: list = []
        self._lengths: list = []

    def join(self, task_features: Sequence[list], length) -> list:
        """The training features of every task, end to end, each tagged with its task; sets the weights."""
        self.sizes = [len(features) for features in task_features]
        self.weights = mixture_weights(self.sizes, self.sampling, self.temperature)
        self._lengths = [[length(f) for f in features] for features in task_features]
        return [{**feature, TASK_KEY: index} for index, features in enumerate(task_features) for feature in features]

    def batch_sampler(self, batch_size: int, group_by_length: bool = True) -> MixtureBatchSampler:
        return MixtureBatchSampler(self._lengths, batch_size, self.weights, group_by_length=group_by_length)

    def collate(self, features):
        index = features[0][TASK_KEY]
        if any(f[TASK_KEY] != index for f in features):
            raise ValueError("a mixture batch must hold one task's features")
        batch = self.kinds[index].collate(features)
        batch["task_index"] = index  # a Python int: no host sync to read it back (Accelerate leaves it as is)
        return batch

    def build_head(self, hidden_size, dropout):
        return MixtureHeads(self.names, [kind.build_head(hidden_size, dropout) for kind in self.kinds])

    def loss(self, logits, batch):
        return self.kinds[int(batch["task_index"])].loss(logits, batch)

    def features(self, examples):
        raise RuntimeError("a mixture's features are its tasks' features: see MixtureKind.join")

    def decode(self, logits, features):
        raise RuntimeError("a mixture is evaluated per task, with that task's kind")

    def metrics(self, predictions, examples, features):
        raise RuntimeError("a mixture is evaluated per task, with that task's kind")
