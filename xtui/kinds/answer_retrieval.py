"""Language-agnostic answer retrieval (LAReQA on XQuAD-R): a dual encoder retrieves the
sentence that answers a question from a pool of candidate sentences in many languages.

Examples are SQuAD rows (``{"id", "context", "question", "answers"}``). The answer *sentence* is
the sentence of the context that contains the first answer's ``answer_start``, sentences being
split by ``split_sentences`` (XQuAD-R ships sentence breaks; the Hub rows do not).

* Training (rows without ``language``: English SQuAD v1.1): one feature per question whose
  answer sentence is found, ``input_ids`` = [question ids, sentence ids] (two rows, as multiple
  choice has one row per choice). ``collate`` flattens them to question, sentence, question, ...
  rows, the one encoder embeds both sides (mean of the last layer over the real tokens) and the
  loss is the in-batch softmax over scaled cosine similarities (each question against every
  sentence of the batch; other questions' identical sentences are not counted as negatives).
* Evaluation (rows tagged with ``language`` by the task's ``pooled_splits``): the queries are
  the questions of the stage's language; the candidates are every sentence of every distinct
  context of every language; a question's relevant candidates are the answer sentences of the
  rows sharing its id, in every language (XQuAD-R ids are the same in its 11 languages). One
  feature per query (``side`` 0) and per candidate (``side`` 1); the metric is mAP@20
  (``map@20``, headline) and the full mAP (``map``, what XTREME-R's script prints).

Options: ``scale`` (20.0, the softmax temperature's inverse), ``max_query_length`` (64),
``k`` (20), ``layer`` (-1: the last layer; as the retrieval kind's ``layer``).
"""

from __future__ import annotations

import re
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..retrieval import mean_average_precision_at_k
from .base import MODEL_INPUTS, Kind
from .retrieval import MeanPoolHead

DEFAULTS = {"scale": 20.0, "max_query_length": 64, "k": 20, "layer": -1}
SENTENCE_END = re.compile(r"(?:[.!?।؟]+[\"'”’»)\]]*(?=\s|$)|[。！？]+[”’」』）]*)")
"""A sentence ends after . ! ? (Latin), । (Devanagari) or ؟ (Arabic) followed by a space or the
end of the text, or after 。！？ (CJK, which need no space), closing quotes and brackets included."""


def sentence_spans(text: str) -> list:
    """``(start, end)`` of each sentence of ``text``: ``text[start:end]`` is the sentence without
    the spaces around it; every character from one sentence's start up to the next one's start
    belongs to the first (so an offset between sentences falls into the preceding one)."""
    spans, start = [], 0
    for match in SENTENCE_END.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for start, end in spans:
        piece = text[start:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            trimmed.append((start + left, start + right))
    return trimmed


def split_sentences(text: str) -> list:
    """The sentences of ``text`` (see ``sentence_spans``)."""
    return [text[start:end] for start, end in sentence_spans(text)]


def answer_sentence_index(spans: list, answer_start: int) -> Optional[int]:
    """Which span holds the character at ``answer_start``: the last span starting at or before
    it (the spaces after a sentence belong to it); None when it starts before the first sentence
    or after the last one ends."""
    chosen = None
    for index, (start, _) in enumerate(spans):
        if start > answer_start:
            break
        chosen = index
    if chosen is None or (chosen == len(spans) - 1 and answer_start >= spans[chosen][1]):
        return None
    return chosen


def answer_sentence(example: dict) -> Optional[str]:
    """The sentence of the example's context holding its first answer, or None (no answer)."""
    starts = example.get("answers", {}).get("answer_start") or []
    if not starts:
        return None
    spans = sentence_spans(example["context"])
    index = answer_sentence_index(spans, int(starts[0])) if spans else None
    return None if index is None else example["context"][spans[index][0]:spans[index][1]]


def pool_layout(examples, language: Optional[str] = None) -> dict:
    """The retrieval problem of pooled examples (see the module): ``queries`` (example indices
    of ``language``'s questions that have an answer sentence), ``sentences`` (candidate texts),
    ``candidate_languages`` and ``relevant`` (per query, the candidate indices that answer it).

    A context is split once per (language, context text); its sentences are candidates in that
    order. ``language`` defaults to the first example's.
    """
    if language is None:
        language = examples[0].get("language") if examples else None
    sentences, candidate_languages, contexts = [], [], {}
    answers, by_id = [], {}
    for index, example in enumerate(examples):
        key = (example.get("language"), example["context"])
        if key not in contexts:
            spans = sentence_spans(example["context"])
            contexts[key] = (spans, list(range(len(sentences), len(sentences) + len(spans))))
            sentences.extend(example["context"][start:end] for start, end in spans)
            candidate_languages.extend([example.get("language")] * len(spans))
        spans, positions = contexts[key]
        starts = example.get("answers", {}).get("answer_start") or []
        found = answer_sentence_index(spans, int(starts[0])) if starts and spans else None
        answers.append(None if found is None else positions[found])
        if found is not None:
            by_id.setdefault(str(example["id"]), set()).add(positions[found])
    queries = [index for index, example in enumerate(examples)
               if example.get("language") == language and answers[index] is not None]
    relevant = [sorted(by_id[str(examples[index]["id"])]) for index in queries]
    return {"language": language, "queries": queries, "sentences": sentences,
            "candidate_languages": candidate_languages, "relevant": relevant}


class AnswerRetrievalKind(Kind):
    name = "answer_retrieval"
    label_keys = ()

    def __init__(self, labels, tokenizer, max_length, options=None):
        super().__init__(labels, tokenizer, max_length, options)
        self.settings = {**DEFAULTS, **{k: v for k, v in self.options.items() if k in DEFAULTS}}

    # -- data ------------------------------------------------------------------------------------
    def _encode(self, texts: list, max_length: int) -> list:
        if not texts:
            return []
        encoded = self.tokenizer(texts, truncation=True, max_length=max_length)
        return [{k: encoded[k][i] for k in ("input_ids", "attention_mask") if k in encoded} for i in range(len(texts))]

    def features(self, examples):
        examples = list(examples)
        if any("language" in example for example in examples):
            return self._pool_features(examples)
        pairs = [(index, example["question"], answer_sentence(example)) for index, example in enumerate(examples)]
        pairs = [pair for pair in pairs if pair[2] is not None]
        questions = self._encode([q for _, q, _ in pairs], min(self.max_length, int(self.settings["max_query_length"])))
        answers = self._encode([s for _, _, s in pairs], self.max_length)
        return [{**{k: [question[k], answer[k]] for k in question}, "example_index": index}
                for (index, _, _), question, answer in zip(pairs, questions, answers)]

    def _pool_features(self, examples):
        layout = pool_layout(examples, self.options.get("language") or None)
        questions = self._encode([examples[i]["question"] for i in layout["queries"]],
                                 min(self.max_length, int(self.settings["max_query_length"])))
        candidates = self._encode(layout["sentences"], self.max_length)
        return ([{**q, "side": 0, "index": i} for i, q in enumerate(questions)]
                + [{**c, "side": 1, "index": i} for i, c in enumerate(candidates)])

    def collate(self, features):
        rows = {key: [] for key in MODEL_INPUTS if key in features[0]}
        for feature in features:
            paired = bool(feature["input_ids"]) and isinstance(feature["input_ids"][0], list)
            for key in rows:
                rows[key].extend(feature[key] if paired else [feature[key]])
        longest = max(len(row) for row in rows["input_ids"])
        pad = self.tokenizer.pad_token_id or 0
        return {key: torch.tensor([row + [pad if key == "input_ids" else 0] * (longest - len(row)) for row in values],
                                  dtype=torch.long)
                for key, values in rows.items()}

    # -- model -----------------------------------------------------------------------------------
    def build_head(self, hidden_size, dropout):
        return MeanPoolHead(self.settings["layer"])

    def loss(self, logits, batch):
        """In-batch softmax: rows alternate question, answer sentence (see ``collate``)."""
        embeddings = nn.functional.normalize(logits.float(), dim=-1)
        questions, answers = embeddings[0::2], embeddings[1::2]
        scores = float(self.settings["scale"]) * questions @ answers.T
        ids = batch["input_ids"][1::2]  # padded alike: equal rows are the same sentence
        same = (ids[:, None, :] == ids[None, :, :]).all(-1)
        same.fill_diagonal_(False)  # a repeated sentence is the answer, not a negative
        scores = scores.masked_fill(same, float("-inf"))
        target = torch.arange(len(questions), device=scores.device)
        return nn.functional.cross_entropy(scores, target)

    # -- evaluation ------------------------------------------------------------------------------
    def decode(self, logits, features):
        return list(logits.float().numpy())

    def metrics(self, predictions, examples, features):
        layout = pool_layout(examples, self.options.get("language") or None)
        dim = len(predictions[0]) if predictions else 1
        queries = np.zeros((len(layout["queries"]), dim))
        candidates = np.zeros((len(layout["sentences"]), dim))
        for vector, feature in zip(predictions, features):
            (queries if feature["side"] == 0 else candidates)[feature["index"]] = vector
        k = int(self.settings["k"])
        return {f"map@{k}": mean_average_precision_at_k(queries, candidates, layout["relevant"], k=k),
                "map": mean_average_precision_at_k(queries, candidates, layout["relevant"], k=None)}


__all__ = ["AnswerRetrievalKind", "answer_sentence", "answer_sentence_index", "pool_layout", "sentence_spans",
           "split_sentences"]
