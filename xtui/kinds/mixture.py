"""Multi-task intermediate training: one shared encoder, one head per task of the mixture.

A mixture stage's features are its tasks' training features laid end to end, each tagged
with its task's index (``mixture_task``). Every batch holds one task (see
:class:`xtui.batching.MixtureBatchSampler`); ``collate`` uses that task's kind and adds
``task_index``, which the model passes on to :class:`MixtureHeads` and ``loss`` uses to pick the
task's loss. The checkpoint is the shared encoder (what the target stage continues from) and
every head, keyed by task name. Model selection is on the mean of the members' headline
validation scores (members without validation data do not count).
"""

from __future__ import annotations

from typing import Sequence

from torch import nn

from ..batching import MixtureBatchSampler, mixture_weights
from . import load_kind_class
from .base import MODEL_INPUTS, Kind

TASK_KEY = "mixture_task"


class MixtureHeads(nn.Module):
    """The heads of a mixture's tasks; ``active`` picks one when no ``task_index`` is given
    (evaluation of one member)."""

    def __init__(self, names: Sequence[str], heads: Sequence[nn.Module]):
        super().__init__()
        self.names = list(names)
        self.heads = nn.ModuleDict(dict(zip(self.names, heads)))
        self.active = 0

    def forward(self, hidden, attention_mask=None, task_index=None):
        index = self.active if task_index is None else int(task_index)
        return self.heads[self.names[index]](hidden, attention_mask)


class MixtureKind(Kind):
    """Wraps the kinds of the mixture's tasks (one per member)."""

    name = "mixture"
    model_inputs = MODEL_INPUTS + ("task_index",)
    metric = "average"

    def __init__(self, names: Sequence[str], kinds: Sequence[Kind], sampling: str = "proportional",
                 temperature: float = 2.0, members: Sequence = ()):
        first = kinds[0]
        super().__init__([], first.tokenizer, first.max_length, {"sampling": sampling, "temperature": temperature})
        self.names = list(names)
        self.kinds = list(kinds)
        self.members = list(members)
        self.sampling = sampling
        self.temperature = temperature
        self.sizes: list = []
        self.weights: list = []
        self._lengths: list = []
        self.batches: dict = {}

    @classmethod
    def for_stage(cls, stage, data) -> "MixtureKind":
        """One member kind per task of the stage's mixture (``stage.mixture.tasks``)."""
        kinds = [load_kind_class(m.kind.target).for_task(data.task(m.task), data.tokenizer(), stage.input_length,
                                                          m.language, m.scorer.name if m.scorer else None, m.pooling)
                 for m in stage.mixture.tasks]
        return cls([m.task for m in stage.mixture.tasks], kinds, stage.mixture.sampling,
                   stage.mixture.temperature or 2.0, stage.mixture.tasks)

    def join(self, task_features: Sequence[list]) -> list:
        """The training features of every task, end to end, each tagged with its task; sets the weights."""
        self.sizes = [len(features) for features in task_features]
        self.weights = mixture_weights(self.sizes, self.sampling, self.temperature)
        self._lengths = [[kind.length(f) for f in features] for kind, features in zip(self.kinds, task_features)]
        return [{**feature, TASK_KEY: index} for index, features in enumerate(task_features) for feature in features]

    def training_data(self, data, task, stage) -> tuple:
        task_features, validations = [], []
        for index, (member, kind) in enumerate(zip(self.members, self.kinds)):
            member_task = data.task(member.task)
            task_features.append(data.features(kind, member_task, member.language, member_task.train_split, member.kind))
            if "validation" in member.data:
                examples, features = kind.selection_set(data, member_task, member.language, member_task.validation_split,
                                                        stage, kind_ref=member.kind)
                validations.append((index, member_task, kind, examples, features))
        features = self.join(task_features)
        if not validations:
            return features, None

        def evaluate(model) -> dict:
            heads = data.unwrap(model).head
            scores = {}
            try:
                for index, member_task, kind, examples, member_features in validations:
                    heads.active = index
                    for name, value in data.evaluate(model, kind, member_features, examples).items():
                        scores[f"{member_task.name}.{name}"] = value
            finally:
                heads.active = 0
            headline = [scores[f"{t.name}.{t.metric}"] for _, t, *_ in validations]
            return {"average": sum(headline) / len(headline), **scores}
        return features, (evaluate, "average")

    def batch_sampler(self, features, batch_size: int, group_by_length: bool = True) -> MixtureBatchSampler:
        return MixtureBatchSampler(self._lengths, batch_size, self.weights, group_by_length=group_by_length)

    def collate(self, features):
        index = features[0][TASK_KEY]
        if any(f[TASK_KEY] != index for f in features):
            raise ValueError("a mixture batch must hold one task's features")
        batch = self.kinds[index].collate(features)
        batch["task_index"] = index  # a Python int: no host sync to read it back (Accelerate leaves it as is)
        return batch

    def record(self) -> dict:
        return {"mixture": {"tasks": self.names, "sizes": self.sizes, "weights": self.weights, "sampling": self.sampling,
                            "temperature": self.temperature if self.sampling == "temperature" else None,
                            "batches_per_task": [self.batches.get(i, 0) for i in range(len(self.names))]}}

    def build_head(self, hidden_size, dropout):
        return MixtureHeads(self.names, [kind.build_head(hidden_size, dropout) for kind in self.kinds])

    def loss(self, logits, batch):
        index = int(batch["task_index"])
        # batches each task trained on (in this process, since any resume). Counted here, not in
        # collate: the data loader collates a batch ahead of training, and past the last step.
        self.batches[index] = self.batches.get(index, 0) + 1
        return self.kinds[index].loss(logits, batch)

    def features(self, examples):
        raise RuntimeError("a mixture's features are its tasks' features: see MixtureKind.join")

    def decode(self, logits, features):
        raise RuntimeError("a mixture is evaluated per task, with that task's kind")

    def metrics(self, predictions, examples, features):
        raise RuntimeError("a mixture is evaluated per task, with that task's kind")
