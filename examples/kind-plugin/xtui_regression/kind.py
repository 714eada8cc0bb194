"""The ``regression`` kind: a sentence pair in, one real number out (mean-pooled encoder, a linear
head, mean squared error). Only the worker imports this module."""

from __future__ import annotations

import torch
from torch import nn

from xtui.kinds.base import Kind, pool


class RegressionHead(nn.Module):
    def __init__(self, hidden_size: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, hidden, attention_mask=None):
        return self.out(self.dropout(pool(hidden, attention_mask, "mean"))).squeeze(-1)


class RegressionKind(Kind):
    name = "regression"
    poolings = ("mean",)

    def features(self, examples):
        encoded = self.tokenizer([e["text"] for e in examples], [e.get("text_pair") or "" for e in examples],
                                 truncation="longest_first", max_length=self.max_length)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        return [{**{k: encoded[k][i] for k in keys}, "labels": float(e["score"])} for i, e in enumerate(examples)]

    def collate(self, features):
        batch = super().collate([{k: v for k, v in f.items() if k != "labels"} for f in features])
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.float)
        return batch

    def build_head(self, hidden_size, dropout):
        return RegressionHead(hidden_size, dropout)

    def loss(self, logits, batch):
        return nn.functional.mse_loss(logits.float(), batch["labels"])

    def decode(self, logits, features):
        return logits.float().tolist()

    def outputs(self, predictions, examples, features):
        return [float(p) for p in predictions]

    def references(self, examples):
        return [float(e["score"]) for e in examples]

    def default_scorer(self):
        return "pair_correlation"
