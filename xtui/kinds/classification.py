"""Sequence and sequence-pair classification (XNLI, PAWS-X, MNLI, ANLI, ...)."""

from __future__ import annotations

from torch import nn

from .base import ArgmaxKind, pool


class ClassificationHead(nn.Module):
    """RoBERTa's classification head (dense + tanh + projection) on the first token (``pooling="cls"``)
    or on the mean of the real tokens (``"mean"``); the same parameters either way."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float, pooling: str = "cls"):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, num_labels)
        self.pooling = pooling

    def forward(self, hidden, attention_mask=None):
        x = self.dropout(pool(hidden, attention_mask, self.pooling))
        x = self.dropout(self.dense(x).tanh())
        return self.out_proj(x)


class ClassificationKind(ArgmaxKind):
    name = "classification"
    poolings = ("cls", "mean")

    def features(self, examples):
        texts = [e["text"] for e in examples]
        pairs = [e.get("text_pair") for e in examples]
        if all(p is None for p in pairs):
            encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        else:
            encoded = self.tokenizer(texts, [p or "" for p in pairs], truncation="longest_first", max_length=self.max_length)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        return [
            {**{k: encoded[k][i] for k in keys}, "labels": int(e["label"])}
            for i, e in enumerate(examples)
        ]

    def stratum(self, example):
        return int(example["label"])

    def build_head(self, hidden_size, dropout):
        return ClassificationHead(hidden_size, len(self.labels), dropout, self.pooling or "cls")

