"""Multiple choice (COPA / XCOPA, HellaSwag, CosmosQA, CommonsenseQA, SocialIQA).

An example is ``{"context": str, "question": str, "choices": [str, ...], "label": int}``.
Every choice is encoded with its context as a pair, ``(context, question + " " + choice)``
(``(question, choice)`` when there is no context); the candidates of one example are
scored jointly: one score per choice from the first token, a softmax over the choices.
``collate`` flattens (batch, choices) to batch * choices rows for the encoder, the head scores
each row, and the kind reshapes the scores back to (batch, choices): the head does not depend on
the number of choices, so one trained on 3-way SocialIQA goes on with 2-way COPA (a recipe's phases).

Options: ``choices`` (default: the number of the task's labels).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import MODEL_INPUTS, ArgmaxKind, pool


class ChoiceHead(nn.Module):
    """RoBERTa's multiple-choice head: one score per (context, choice) row from its first token
    (``pooling="cls"``) or the mean of its real tokens (``"mean"``)."""

    def __init__(self, hidden_size: int, dropout: float, pooling: str = "cls"):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, 1)
        self.pooling = pooling

    def forward(self, hidden, attention_mask=None):
        x = self.dropout(pool(hidden, attention_mask, self.pooling))
        x = self.dropout(self.dense(x).tanh())
        return self.out_proj(x).squeeze(-1)


class MultipleChoiceKind(ArgmaxKind):
    name = "multiple_choice"
    poolings = ("cls", "mean")

    def __init__(self, labels, tokenizer, max_length, options=None):
        super().__init__(labels, tokenizer, max_length, options)
        self.choices = int(self.options.get("choices") or len(self.labels))
        if self.choices < 2:
            raise ValueError(f"multiple choice needs at least 2 choices, got {self.choices} (set the task's labels or options['choices'])")

    def features(self, examples):
        firsts, seconds = [], []
        for number, example in enumerate(examples):
            choices = list(example["choices"])
            if len(choices) != self.choices:
                raise ValueError(f"example {number}: {len(choices)} choices, the task has {self.choices}")
            context = example.get("context") or ""
            question = example.get("question") or ""
            for choice in choices:
                if context:
                    firsts.append(context)
                    seconds.append(f"{question} {choice}".strip())
                else:
                    firsts.append(question)
                    seconds.append(choice)
        if not firsts:
            return []
        encoded = self.tokenizer(firsts, seconds, truncation=True, max_length=self.max_length)
        keys = [k for k in MODEL_INPUTS if k in encoded]
        n = self.choices
        return [
            {**{k: encoded[k][i * n:(i + 1) * n] for k in keys}, "labels": int(example["label"])}
            for i, example in enumerate(examples)
        ]

    def stratum(self, example):
        return int(example["label"])

    def collate(self, features):
        longest = max(len(row) for f in features for row in f["input_ids"])
        pad = self.tokenizer.pad_token_id or 0
        batch = {}
        for key in MODEL_INPUTS:
            if key not in features[0]:
                continue
            fill = pad if key == "input_ids" else 0
            batch[key] = torch.tensor([row + [fill] * (longest - len(row)) for f in features for row in f[key]], dtype=torch.long)
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch

    def build_head(self, hidden_size, dropout):
        return ChoiceHead(hidden_size, dropout, self.pooling or "cls")

    def loss(self, logits, batch):
        """Cross-entropy over each example's choices (the head's row scores, example-major)."""
        return super().loss(logits.view(-1, self.choices), batch)

    def decode(self, logits, features):
        """The argmax over each example's choices (the head scores one row per choice)."""
        return logits.view(-1, self.choices).argmax(-1).tolist()
