"""Extractive question answering (SQuAD, XQuAD, MLQA, TyDiQA GoldP).

An example is a Hugging Face ``squad`` row: ``{"id", "context", "question", "answers":
{"text": [...], "answer_start": [...]}}``; no answers means "no answer" (SQuAD 2.0).

A question + context pair longer than ``max_length`` becomes several windows (features)
over the context, consecutive windows overlapping by ``doc_stride`` tokens. Each window is
trained to point at the first reference answer, or at the first token ([CLS] / <s>) when
the answer is not inside it. Decoding takes the ``n_best`` start and end tokens of every
window, keeps spans of at most ``max_answer_length`` tokens inside the context, maps the
best back to the context text with the tokenizer's offsets, and picks the best span over
all windows of the question. With ``no_answer`` (SQuAD 2.0) the answer is empty when the
first-token score beats the best span by more than ``null_threshold``.

Options (``Task.options``): ``doc_stride`` (128), ``max_query_length`` (64),
``max_answer_length`` (30), ``n_best`` (20), ``no_answer`` (False), ``null_threshold``
(0.0), ``normalization`` ("squad": SQuAD v1.1; "mlqa": the MLQA script's rules for the
stage's ``language``), which picks the default scorer (``squad`` / ``mlqa``, ``xtui.scorers``).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import Kind

DEFAULTS = {
    "doc_stride": 128,
    "max_query_length": 64,
    "max_answer_length": 30,
    "n_best": 20,
    "no_answer": False,
    "null_threshold": 0.0,
    "normalization": "squad",
}


class SpanHead(nn.Module):
    """Start and end logits per token: ``(batch, length, 2)``."""

    def __init__(self, hidden_size: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.qa_outputs = nn.Linear(hidden_size, 2)

    def forward(self, hidden, attention_mask=None):
        return self.qa_outputs(self.dropout(hidden))


class QAKind(Kind):
    name = "qa"
    label_keys = ("start_positions", "end_positions")

    def __init__(self, labels, tokenizer, max_length, options=None):
        super().__init__(labels, tokenizer, max_length, options)
        settings = {**DEFAULTS, **{k: v for k, v in self.options.items() if k in DEFAULTS}}
        if settings["normalization"] not in ("squad", "mlqa"):
            raise ValueError(f"qa option normalization={settings['normalization']!r}: use 'squad' or 'mlqa'")
        special = tokenizer.num_special_tokens_to_add(pair=True)
        # Short max_length (the spec default is 128): keep room for the context in every window.
        self.max_query_length = max(1, min(int(settings["max_query_length"]), (max_length - special) // 3))
        context_room = max_length - special - self.max_query_length
        if context_room < 8:
            raise ValueError(f"max_length {max_length} is too short for question answering; use 384 (the paper's) or at least 32")
        self.doc_stride = max(0, min(int(settings["doc_stride"]), context_room // 2))
        self.max_answer_length = int(settings["max_answer_length"])
        self.n_best = int(settings["n_best"])
        self.no_answer = bool(settings["no_answer"])
        self.null_threshold = float(settings["null_threshold"])
        self.language = self.options.get("language") if settings["normalization"] == "mlqa" else None
        if settings["normalization"] == "mlqa" and not self.language:
            raise ValueError("qa option normalization='mlqa' needs the stage's language")
        self.normalization = settings["normalization"]

    def default_scorer(self):
        return "mlqa" if self.normalization == "mlqa" else "squad"

    # -- data ---------------------------------------------------------------------------
    def _questions(self, examples) -> list:
        """Questions without leading whitespace, cut to ``max_query_length`` tokens."""
        questions = [str(e["question"]).lstrip() for e in examples]
        encoded = self.tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
        cut = []
        for question, offsets in zip(questions, encoded["offset_mapping"]):
            if len(offsets) > self.max_query_length:
                question = question[: offsets[self.max_query_length - 1][1]]
            cut.append(question)
        return cut

    def features(self, examples):
        if not examples:
            return []
        tokenizer = self.tokenizer
        encoded = tokenizer(
            self._questions(examples),
            [e["context"] for e in examples],
            truncation="only_second",
            max_length=self.max_length,
            stride=self.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        cls_id = tokenizer.cls_token_id
        features = []
        for i, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
            example = examples[example_index]
            input_ids = encoded["input_ids"][i]
            cls = input_ids.index(cls_id) if cls_id in input_ids else 0
            sequence = encoded.sequence_ids(i)
            offsets = [tuple(o) if s == 1 else None for o, s in zip(encoded["offset_mapping"][i], sequence)]
            start = end = cls
            answers = example["answers"]
            if answers["text"] and 1 in sequence:
                start_char = int(answers["answer_start"][0])
                end_char = start_char + len(answers["text"][0])
                first = sequence.index(1)
                last = len(sequence) - 1 - sequence[::-1].index(1)
                if offsets[first][0] <= start_char and offsets[last][1] >= end_char:
                    start = first
                    while start <= last and offsets[start][0] <= start_char:
                        start += 1
                    start -= 1
                    end = last
                    while end >= first and offsets[end][1] >= end_char:
                        end -= 1
                    end += 1
            features.append({
                **{k: encoded[k][i] for k in keys},
                "start_positions": start,
                "end_positions": end,
                "example_index": example_index,
                "offsets": offsets,
                "cls_index": cls,
            })
        return features

    # -- model --------------------------------------------------------------------------
    def build_head(self, hidden_size, dropout):
        return SpanHead(hidden_size, dropout)

    def loss(self, logits, batch):
        # Padding must never be chosen: mask it out of the softmax over positions.
        mask = batch["attention_mask"].to(logits.device) == 0
        start_logits = logits[..., 0].masked_fill(mask, -1e4)
        end_logits = logits[..., 1].masked_fill(mask, -1e4)
        start = nn.functional.cross_entropy(start_logits, batch["start_positions"].to(logits.device))
        end = nn.functional.cross_entropy(end_logits, batch["end_positions"].to(logits.device))
        return (start + end) / 2

    # -- evaluation ---------------------------------------------------------------------
    def decode(self, logits, features):
        """Per window: ``{"spans": [(score, start_char, end_char), ...], "null": score}``,
        the spans best first (at most ``n_best``)."""
        predictions = []
        for row, feature in zip(logits, features):
            length = len(feature["input_ids"])
            start_logits = row[:length, 0]
            end_logits = row[:length, 1]
            offsets = feature["offsets"]
            k = min(self.n_best, length)
            starts = torch.topk(start_logits, k).indices.tolist()
            ends = torch.topk(end_logits, k).indices.tolist()
            spans = []
            for s in starts:
                if offsets[s] is None:
                    continue
                for e in ends:
                    if offsets[e] is None or e < s or e - s + 1 > self.max_answer_length:
                        continue
                    spans.append((float(start_logits[s] + end_logits[e]), offsets[s][0], offsets[e][1]))
            spans.sort(key=lambda span: -span[0])
            cls = feature["cls_index"]
            predictions.append({"spans": spans[: self.n_best], "null": float(start_logits[cls] + end_logits[cls])})
        return predictions

    def answers(self, predictions, examples, features) -> list:
        """The answer text of every example, from the window predictions (feature order)."""
        best: dict = {}
        null: dict = {}
        for prediction, feature in zip(predictions, features, strict=True):
            index = feature["example_index"]
            if prediction["spans"] and (index not in best or prediction["spans"][0][0] > best[index][0]):
                best[index] = prediction["spans"][0]
            null[index] = min(null.get(index, float("inf")), prediction["null"])
        answers = []
        for index, example in enumerate(examples):
            span = best.get(index)
            if span is None or (self.no_answer and null[index] - span[0] > self.null_threshold):
                answers.append("")
            else:
                answers.append(example["context"][span[1]:span[2]])
        return answers

    def outputs(self, predictions, examples, features):
        """The answer text of every question ("" for "no answer")."""
        return self.answers(predictions, examples, features)

    def references(self, examples):
        return [list(e["answers"]["text"]) for e in examples]
