"""The base of every kind (imports torch: worker only)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import nn


MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Kind:
    """Subclass and implement ``features``, ``build_head``, ``decode`` and ``metrics``.

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
    poolings: tuple = ()
    """For kinds whose head pools a sequence: the choices of ``pooling`` (``"cls"``, ``"mean"``)."""
    pooling: Optional[str] = None
    """The stage's choice (the worker sets it before ``build_head``); None: the kind's default."""

    def __init__(self, labels: Sequence[str], tokenizer, max_length: int, options: Optional[dict] = None):
        self.labels = list(labels)
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.options = options or {}

    # -- data ---------------------------------------------------------------------------
    def features(self, examples: Sequence[dict]) -> list:
        """Tokenise examples into dicts of lists (``input_ids``, ``attention_mask``, ``labels`` ...)."""
        raise NotImplementedError

    def stratum(self, example: dict) -> Optional[int]:
        """Label used to stratify few-shot sampling, or None."""
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
            from ..scorers import default_scorer, get_scorer

            name = default_scorer(self.name, self.options)
            if name is None:
                raise NotImplementedError(f"kind {self.name!r} has no default scorer: set one or override metrics")
            self._scorer = get_scorer(name)
        return self._scorer

    @scorer.setter
    def scorer(self, value) -> None:
        self._scorer = value

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


class TaskModel(nn.Module):
    """A pretrained encoder and a kind's head. A head with ``uses_mask`` also gets the attention mask
    (heads that mean-pool)."""

    def __init__(self, encoder: nn.Module, head: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = head
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

    def forward(self, input_ids, attention_mask, token_type_ids=None, task_index=None, **_):
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None and self.use_token_types:
            kwargs["token_type_ids"] = token_type_ids
        layer = getattr(self.head, "hidden_layer", None)
        if task_index is not None:  # a mixture's batch: the head of its task (xtui.kinds.mixture)
            return self.head(self.encoder(**kwargs).last_hidden_state, task_index, attention_mask=attention_mask)
        if layer is None:
            hidden = self.encoder(**kwargs).last_hidden_state
            return self.head(hidden, attention_mask=attention_mask) if getattr(self.head, "uses_mask", False) else self.head(hidden)
        # Heads that read a middle layer (retrieval) get that layer's states and the mask.
        from .retrieval import layer_index

        outputs = self.encoder(**kwargs, output_hidden_states=True)
        index = layer_index(layer, len(outputs.hidden_states) - 1)
        return self.head(outputs.hidden_states[index], attention_mask)
