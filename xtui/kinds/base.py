"""The base of every kind (imports torch: worker only)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import nn


MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Kind:
    """How a task is modelled: the kind-plugin API. Subclass and implement ``features``,
    ``build_head``, ``decode``, ``outputs`` and ``references`` (or ``metrics`` alone).

    A kind is registered by name (``hookspecs.register_kinds``) with what the planner must know
    without importing torch: whether its stages train (``trains=False``: the parent's encoder is
    evaluated directly, as for sentence retrieval), its head's ``poolings`` and its default scorer.
    The worker then builds one per stage (``xtui.kinds.build_kind``) and asks it everything that
    differs between kinds: how to featurise, batch (``length``, ``batch_sampler``, ``collate``),
    which batch keys the model reads (``model_inputs``) and which encoder layer the head reads
    (``encoder_layer``), the head and its loss, the training data and model selection of a stage
    (``training_data``), decoding and scoring, and what the stage's result records (``record``).

    ``features`` may make several features per example (e.g. QA windows): a feature then
    carries ``example_index`` and ``metrics`` receives the features to aggregate.

    ``options`` are the task's ``options`` plus ``language``, the stage's language (the
    worker adds it: MLQA's answer normalisation depends on it).

    Scoring: ``outputs`` turns the per-feature ``decode`` results into one prediction per
    example (or one structure for the whole split, for retrieval) in the format of the kind's
    scorer, ``references`` gives the gold side, and ``metrics`` hands both to ``scorer``
    (``xtui.scorers``; the task's, set by ``xtui.kinds.build_kind``, else the kind's default).
    A kind may instead override ``metrics`` alone.
    """

    name = "base"
    label_keys: tuple = ("labels",)
    """Feature keys that hold training targets; ``collate`` turns them into tensors too."""
    model_inputs: tuple = MODEL_INPUTS
    """Batch keys the model's forward receives; keys past the encoder's go to the head."""
    poolings: tuple = ()
    """For kinds whose head pools a sequence: the choices of ``pooling`` (``"cls"``, ``"mean"``)."""
    pooling: Optional[str] = None
    """The stage's choice (the worker sets it before ``build_head``); None: the kind's default."""
    layer: Optional[int] = None
    """The stage's encoder layer, for kinds that read one (sentence retrieval); None: the kind's default."""

    metric: str = ""
    """The stage's headline metric (the task's; set by ``for_task``)."""

    def __init__(self, labels: Sequence[str], tokenizer, max_length: int, options: Optional[dict] = None):
        self.labels = list(labels)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.options = options or {}

    @classmethod
    def for_task(cls, task, tokenizer, max_length: int, language: str, scorer: Optional[str] = None,
                 pooling: Optional[str] = None, layer: Optional[int] = None) -> "Kind":
        """This kind for ``task`` as a stage runs it: the task's labels and options plus the stage's
        ``language``, scored by the scorer named ``scorer`` (the stage's), else the task's own
        (``Task.scorer``), else the kind's default; with the stage's ``pooling`` and ``layer``."""
        kind = cls(task.labels, tokenizer, max_length, {**task.options, "language": language})
        scorer = scorer or getattr(task, "scorer", "")  # the task's own, else the kind's default
        if scorer:
            from ..scorers import get_scorer

            kind.scorer = get_scorer(scorer)
        kind.pooling = pooling
        kind.layer = layer
        kind.metric = task.metric
        return kind

    @classmethod
    def for_stage(cls, stage, data) -> "Kind":
        """The kind of one stage (an ``xtui.stage.StageConfig``); ``data`` is the worker's reader of
        the stage's data (see ``training_data``)."""
        return cls.for_task(data.task(stage.task), data.tokenizer(), stage.input_length, stage.language,
                            stage.scorer.name if stage.scorer else None, stage.pooling, stage.layer)

    # -- data ---------------------------------------------------------------------------
    def features(self, examples: Sequence[dict]) -> list:
        """Tokenise examples into dicts of lists (``input_ids``, ``attention_mask``, ``labels`` ...)."""
        raise NotImplementedError

    def stratum(self, example: dict) -> Optional[int]:
        """Label used to stratify few-shot sampling, or None."""
        return None

    def length(self, feature: dict) -> int:
        """Tokens a feature pads to (length-grouped batches, evaluation order): its length, or its
        longest row for features of several rows (a multiple-choice example's choices)."""
        ids = feature["input_ids"]
        if ids and isinstance(ids[0], (list, tuple)):
            return max(len(row) for row in ids)
        return len(ids)

    def batch_sampler(self, features: Sequence[dict], batch_size: int, group_by_length: bool = True):
        """Batches of a training epoch: length-grouped (xtui.batching), reseeded per epoch."""
        from ..batching import LengthGroupedBatchSampler

        return LengthGroupedBatchSampler([self.length(f) for f in features], batch_size, group_by_length=group_by_length)

    def training_data(self, data, task, stage) -> tuple:
        """(training features, model selection or None) of a training stage. ``data`` is the worker's
        reader of the stage's data (``xtui.worker.data.StageReader``): ``task(name)``, ``tokenizer()``,
        ``features(kind, task, language, split)``, ``examples(task, language, split)`` and
        ``evaluate(model, kind, features, examples)``. Model selection: see ``selection``."""
        return data.features(self, task, stage.language, task.train_split), self.selection(data, task, stage)

    def selection(self, data, task, stage, exclude: Optional[dict] = None) -> Optional[tuple]:
        """A stage's model selection, ``(evaluate(model) -> metrics, metric, what)``, as its stage.json
        says (xtui.plan): on the task's English validation split (``data["validation"]``), or on each
        target language's dev split (``data["selection"]``, select = "target-dev"; the metric is then
        their mean, each language's scores under ``<language>.<metric>``); None when it selects nothing.
        ``exclude``: (language, split) -> example indices to leave out (a few-shot stage's shots)."""
        given = stage.data or {}
        if "selection" in given:
            splits = [(s["language"], s["split"]) for s in given["selection"]]
        elif "validation" in given:
            splits = [(task.train_language, task.validation_split)]
        else:
            return None
        exclude = exclude or {}
        sets = [(language, *self.selection_set(data, task, language, split, stage, exclude.get((language, split))))
                for language, split in splits]

        def evaluate(model) -> dict:
            if len(sets) == 1:
                return data.evaluate(model, self, sets[0][2], sets[0][1])
            scores = {f"{language}.{name}": value for language, examples, features in sets
                      for name, value in data.evaluate(model, self, features, examples).items()}
            return {task.metric: sum(scores[f"{l}.{task.metric}"] for l, *_ in sets) / len(sets), **scores}

        what = {"split": splits[0][1], "languages": [l for l, _ in splits],
                "examples": {language: len(examples) for language, examples, _ in sets}}
        return evaluate, task.metric, what

    def selection_set(self, data, task, language: str, split: str, stage, exclude=None, kind_ref=None) -> tuple:
        """(examples, features) a stage selects on in one language: ``training.eval_subset`` of the
        split's examples (xtui.selection.subset_indices), else all of them (their cached features)."""
        from ..selection import subset_indices

        examples = data.examples(task, language, split)
        wanted = stage.training.eval_subset if stage.training else None
        keep = subset_indices(len(examples), wanted, f"{task.name}|{language}|{split}", exclude or ())
        if len(keep) == len(examples):
            return examples, data.features(self, task, language, split, kind_ref)
        examples = [examples[i] for i in keep]
        return examples, self.features(examples)

    def record(self) -> dict:
        """What this kind adds to a stage's result.json after training (a mixture: its sizes and weights)."""
        return {}

    def encoder_layer(self):
        """The encoder layer the head reads: None for the last; an int (0 = embeddings) or a fraction
        of the depth for heads that read a middle layer (sentence retrieval)."""
        return None

    label_pad = -100

    def collate(self, features: Sequence[dict]) -> dict:
        """Dynamic padding to the longest sequence of the batch."""
        longest = max(len(f["input_ids"]) for f in features)
        pad = self.tokenizer.pad_token_id or 0
        batch: dict[str, Any] = {}
        for key in features[0]:
            if key not in MODEL_INPUTS and key not in self.label_keys:
                continue
            values = [f[key] for f in features]
            if isinstance(values[0], list):
                fill = pad if key == "input_ids" else (self.label_pad if key == "labels" else 0)
                values = [v + [fill] * (longest - len(v)) for v in values]
            batch[key] = torch.tensor(values, dtype=torch.long)
        return batch

    # -- model --------------------------------------------------------------------------
    def build_head(self, hidden_size: int, dropout: float) -> nn.Module:
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, batch: dict) -> torch.Tensor:
        labels = batch["labels"]
        return nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1), ignore_index=self.label_pad)

    # -- evaluation ---------------------------------------------------------------------
    def decode(self, logits: torch.Tensor, features: Sequence[dict]) -> list:
        """Predictions for the examples of one batch (in the batch's order)."""
        raise NotImplementedError

    _scorer = None

    @property
    def scorer(self):
        """The ``xtui.scorers.Scorer`` of this kind's metrics."""
        if self._scorer is None:
            from ..scorers import get_scorer

            name = self.default_scorer()
            if name is None:
                raise NotImplementedError(f"kind {self.name!r} has no default scorer: set one or override metrics")
            self._scorer = get_scorer(name)
        return self._scorer

    @scorer.setter
    def scorer(self, value) -> None:
        self._scorer = value

    def default_scorer(self) -> Optional[str]:
        """The scorer of this kind when no stage named one (a kind built outside a stage, as in a test)."""
        from . import builtin_default_scorer

        return builtin_default_scorer(self.name)

    def outputs(self, predictions: list, examples: Sequence[dict], features: Sequence[dict]) -> Any:
        """The decoded predictions (``decode`` results, one per feature, in feature order) as the
        scorer reads them: JSON-serialisable, one entry per example unless the scorer says otherwise."""
        raise NotImplementedError

    def references(self, examples: Sequence[dict]) -> Any:
        """The gold side of ``examples`` as the scorer reads it."""
        raise NotImplementedError

    def metrics(self, predictions: list, examples: Sequence[dict], features: Sequence[dict]) -> dict:
        """Scores of the predictions (one per feature, in feature order) against the examples."""
        return self.scorer.score(self.outputs(predictions, examples, features), self.references(examples),
                                 self.options.get("language"))


def pool(hidden: torch.Tensor, attention_mask: Optional[torch.Tensor], pooling: str) -> torch.Tensor:
    """One vector per sequence: its first token (``cls``) or the mean over its real tokens (``mean``)."""
    if pooling == "cls" or attention_mask is None:
        return hidden[:, 0]
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)


class ArgmaxKind(Kind):
    """A kind whose head scores each class (or each candidate) of an example: the prediction is the
    argmax index, the reference the example's integer ``label``."""

    def decode(self, logits, features):
        return logits.argmax(-1).tolist()

    def outputs(self, predictions, examples, features):
        """The predicted index (label id, or chosen candidate) of every example."""
        return [int(p) for p in predictions]

    def references(self, examples):
        return [int(e["label"]) for e in examples]


class TaskModel(nn.Module):
    """A pretrained encoder and a kind's head. The head gets the hidden states of ``layer`` (the
    kind's ``encoder_layer``: None for the last), the attention mask, and any other batch input
    the kind names in ``model_inputs`` (a mixture's ``task_index``)."""

    def __init__(self, encoder: nn.Module, head: nn.Module, layer=None):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.layer = layer
        # XLM-R has one token type: pair segment ids from a BERT-style tokenizer must not reach it.
        self.use_token_types = getattr(encoder.config, "type_vocab_size", 1) > 1

    def embedding_parameters(self) -> list:
        """The encoder's embedding layer (word, position, token-type embeddings and their LayerNorm)."""
        module = getattr(self.encoder, "embeddings", None)
        if module is None:
            module = self.encoder.get_input_embeddings()
        return list(module.parameters())

    def freeze_embeddings(self, frozen: bool) -> int:
        """Freeze (or unfreeze) the embedding layer; returns how many parameters it holds."""
        parameters = self.embedding_parameters()
        for parameter in parameters:
            parameter.requires_grad_(not frozen)
        return sum(p.numel() for p in parameters)

    def forward(self, input_ids, attention_mask, token_type_ids=None, **head_inputs):
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None and self.use_token_types:
            kwargs["token_type_ids"] = token_type_ids
        if self.layer is None:
            hidden = self.encoder(**kwargs).last_hidden_state
        else:
            states = self.encoder(**kwargs, output_hidden_states=True).hidden_states
            hidden = states[layer_index(self.layer, len(states) - 1)]
        return self.head(hidden, attention_mask, **head_inputs)


def layer_index(layer, num_layers: int) -> int:
    """An int is a layer number (0 = embeddings; negative: from the last, -1 = the last); a float is a
    fraction of the depth."""
    if isinstance(layer, float):
        return max(1, min(num_layers, round(num_layers * layer)))
    if not -num_layers - 1 <= int(layer) <= num_layers:
        raise ValueError(f"layer {layer} is past the encoder's last layer ({num_layers} layers: 0 = embeddings, "
                         f"1-{num_layers} = its layers)")
    return int(layer)
