"""Sequence and sequence-pair classification (XNLI, PAWS-X, MNLI, ANLI, ...)."""

from __future__ import annotations

from torch import nn

from .base import Kind


class ClassificationHead(nn.Module):
    """RoBERTa's classification head on the first token."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden):
        x = self.dropout(hidden[:, 0])
        x = self.dropout(self.dense(x).tanh())
        return self.out_proj(x)


class ClassificationKind(Kind):
    name = "classification"

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
        return ClassificationHead(hidden_size, len(self.labels), dropout)

    def decode(self, logits, features):
        return logits.argmax(-1).tolist()

    def outputs(self, predictions, examples, features):
        """The predicted label id of every example."""
        return [int(p) for p in predictions]

    def references(self, examples):
        return [int(e["label"]) for e in examples]
