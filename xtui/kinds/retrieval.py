"""Sentence retrieval (Tatoeba): no training of its own. The encoder of the parent stage (an
intermediate stage, or the pretrained model for ``none``) embeds both sides with mean
pooling of a middle layer; cosine nearest neighbours are scored in both directions."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..retrieval import tatoeba_accuracy
from .base import Kind

DEFAULT_LAYER = 14 / 24
"""The X-STILTs setting: layer 14 of XLM-R Large's 24 (as a fraction, for any depth)."""


class MeanPoolHead(nn.Module):
    """Mean of one hidden layer over the real tokens. ``hidden_layer`` tells TaskModel which."""

    def __init__(self, hidden_layer):
        super().__init__()
        self.hidden_layer = hidden_layer

    def forward(self, hidden, attention_mask):
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class RetrievalKind(Kind):
    name = "retrieval"
    label_keys = ()
    trains = False

    def features(self, examples):
        texts = [e["source"] for e in examples] + [e["target"] for e in examples]
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        keys = [k for k in ("input_ids", "attention_mask") if k in encoded]
        count = len(examples)
        return [{**{k: encoded[k][i] for k in keys}, "example_index": i % count, "side": i // count}
                for i in range(len(texts))]

    def build_head(self, hidden_size, dropout):
        return MeanPoolHead(self.options.get("layer", DEFAULT_LAYER))

    def decode(self, logits, features):
        return list(logits.float().numpy())

    def metrics(self, predictions, examples, features):
        dim = len(predictions[0])
        sides = np.zeros((2, len(examples), dim))
        for vector, feature in zip(predictions, features):
            sides[feature["side"], feature["example_index"]] = vector
        return tatoeba_accuracy(sides[0], sides[1])

    def loss(self, logits, batch):
        raise RuntimeError("retrieval tasks are evaluated only; they have no training")


def layer_index(hidden_layer, num_layers: int) -> int:
    """An int is a layer number (0 = embeddings); a float is a fraction of the depth."""
    if isinstance(hidden_layer, float):
        return max(1, min(num_layers, round(num_layers * hidden_layer)))
    return int(hidden_layer)


__all__ = ["RetrievalKind", "MeanPoolHead", "layer_index", "torch"]
