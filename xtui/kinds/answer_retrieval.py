"""Language-agnostic answer retrieval (LAReQA on XQuAD-R): a dual encoder retrieves the
sentence that answers a question from a pool of candidate sentences in many languages.

Examples are SQuAD rows (``{"id", "context", "question", "answers"}``, optionally
``sentence_breaks``). The answer *sentence* is the sentence of the context that contains the
first answer's ``answer_start``. Sentences are XQuAD-R's own breaks when the row carries them
(the lareqa repository's JSON files, read from a local folder), else ``split_sentences``' (the
Hub rows of ``google-research-datasets/xquad_r`` have no breaks, and neither has SQuAD; XTREME-R
splits SQuAD for training with a sed-style breaker that xtui does not reproduce). A candidate is
embedded as XTREME-R embeds it: its sentence followed by its paragraph (``candidate_text``).

* Training (rows without ``language``: English SQuAD v1.1): one feature per question whose
  answer sentence is found, ``input_ids`` = [question ids, candidate ids] (two rows, as multiple
  choice has one row per choice). ``collate`` flattens them to question, candidate, question, ...
  rows, the one encoder embeds both sides (mean of the last layer over the real tokens) and the
  loss is the in-batch softmax over scaled cosine similarities (each question against every
  candidate of the batch; other questions' identical candidates are not counted as negatives).
* Evaluation (rows tagged with ``language`` by the task's ``pooled_splits``): the queries are
  the questions of the stage's language; the candidates are every sentence of every distinct
  context of every language; a question's relevant candidates are its answer sentences in every
  language (XQuAD-R ids are the same in its 11 languages). One feature per query (``side`` 0)
  and per candidate (``side`` 1); the ``lareqa`` scorer gives mAP@20 (``map@20``, headline, what
  XTREME-R's script prints) and the full mAP (``map``, the LAReQA paper's).

Options: ``scale`` (20.0, the softmax temperature's inverse), ``max_query_length`` (64),
``k`` (20), ``layer`` (-1: the last layer; as the retrieval kind's ``layer``).
"""

from __future__ import annotations

import re
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..retrieval import lareqa_rankings
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


def context_spans(example: dict) -> tuple:
    """The sentence spans of the example's context and whether they are the data's own:
    XQuAD-R's ``sentence_breaks`` when the row has them, else ``sentence_spans``."""
    breaks = example.get("sentence_breaks")
    if breaks:
        return [(int(start), int(end)) for start, end in breaks], True
    return sentence_spans(example["context"]), False


def answer_index(spans: list, answer_start: int, official: bool) -> Optional[int]:
    """The span holding the answer: with the data's own breaks, the first span with start <=
    answer_start < end, as ``utils_lareqa.generate_examples`` picks it; else
    ``answer_sentence_index``."""
    if not official:
        return answer_sentence_index(spans, answer_start) if spans else None
    return next((index for index, (start, end) in enumerate(spans) if start <= answer_start < end), None)


def candidate_text(sentence: str, context: str) -> str:
    """What XTREME-R embeds for a candidate: its sentence followed by its whole paragraph, newlines
    removed (``evaluate_retrieval.py`` and ``processors/lareqa.py``)."""
    return (sentence + context).replace("\n", "")


def answer_sentence(example: dict) -> Optional[str]:
    """The sentence of the example's context holding its first answer, or None (no answer)."""
    starts = example.get("answers", {}).get("answer_start") or []
    if not starts:
        return None
    spans, official = context_spans(example)
    index = answer_index(spans, int(starts[0]), official)
    return None if index is None else example["context"][spans[index][0]:spans[index][1]]


def pool_layout(examples, language: Optional[str] = None) -> dict:
    """The retrieval problem of pooled examples (see the module): ``queries`` (example indices
    of ``language``'s questions that have an answer sentence), ``sentences`` (the candidates'
    sentences), ``candidates`` (their texts as embedded: ``candidate_text``),
    ``candidate_languages``, ``candidate_ids`` (``<language>_<paragraph>_<sentence>``, paragraphs
    counted from 1 per language, as ``utils_lareqa`` names candidates) and ``relevant`` (per query,
    the candidate indices that answer it).

    A context is split once per (language, context text). Candidates are ordered by language code,
    then context, then sentence, whatever the stage's language, so every language's questions
    search the same pool in the same order (the order in which the official script reads
    XQuAD-R's files ar.json ... zh.json decides ties). A question's relevant candidates are, in
    every language, the sentences of its context equal to its answer sentence, as
    ``utils_lareqa.load_data`` marks them. ``language`` defaults to the first example's.
    """
    if language is None:
        language = examples[0].get("language") if examples else None
    contexts: dict = {}
    for example in examples:
        key = (example.get("language"), example["context"])
        if key not in contexts:
            contexts[key] = context_spans(example)
    order = sorted(contexts, key=lambda key: str(key[0] or ""))  # stable: contexts keep their order
    sentences, candidates, candidate_languages, candidate_ids, positions, numbers = [], [], [], [], {}, {}
    for key in order:
        spans, _ = contexts[key]
        positions[key] = list(range(len(sentences), len(sentences) + len(spans)))
        numbers[key[0]] = numbers.get(key[0], 0) + 1
        for position, (start, end) in enumerate(spans):
            sentences.append(key[1][start:end])
            candidates.append(candidate_text(key[1][start:end], key[1]))
            candidate_languages.append(key[0])
            candidate_ids.append(f"{key[0]}_{numbers[key[0]]}_{position}")
    answered, by_id = [], {}
    for example in examples:
        key = (example.get("language"), example["context"])
        spans, official = contexts[key]
        starts = example.get("answers", {}).get("answer_start") or []
        found = answer_index(spans, int(starts[0]), official) if starts else None
        answered.append(found is not None)
        if found is not None:
            answer = sentences[positions[key][found]]
            same = {position for position in positions[key] if sentences[position] == answer}
            by_id.setdefault(str(example["id"]), set()).update(same)
    queries = [index for index, example in enumerate(examples)
               if example.get("language") == language and answered[index]]
    relevant = [sorted(by_id[str(examples[index]["id"])]) for index in queries]
    return {"language": language, "queries": queries, "sentences": sentences, "candidates": candidates,
            "candidate_languages": candidate_languages, "candidate_ids": candidate_ids, "relevant": relevant}


class AnswerRetrievalKind(Kind):
    name = "answer_retrieval"
    label_keys = ()
    defaults = DEFAULTS
    """The options this kind reads and their defaults (a subclass may add its own)."""

    def __init__(self, labels, tokenizer, max_length, options=None):
        super().__init__(labels, tokenizer, max_length, options)
        self.settings = {**self.defaults, **{k: v for k, v in self.options.items() if k in self.defaults}}

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
        pairs = [(index, question, candidate_text(sentence, examples[index]["context"]))
                 for index, question, sentence in pairs if sentence is not None]
        questions = self._encode([q for _, q, _ in pairs], min(self.max_length, int(self.settings["max_query_length"])))
        answers = self._encode([s for _, _, s in pairs], self.max_length)
        return [{**{k: [question[k], answer[k]] for k in question}, "example_index": index}
                for (index, _, _), question, answer in zip(pairs, questions, answers)]

    def _pool_features(self, examples):
        layout = pool_layout(examples, self.options.get("language") or None)
        questions = self._encode([examples[i]["question"] for i in layout["queries"]],
                                 min(self.max_length, int(self.settings["max_query_length"])))
        candidates = self._encode(layout["candidates"], self.max_length)
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
        return MeanPoolHead()

    def encoder_layer(self):
        return self.settings["layer"]

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

    def outputs(self, predictions, examples, features):
        """Per question of the stage's language: its top-k candidates (``ranked``) and the rank of
        each of its relevant candidates (``relevant_ranks``), see ``xtui.retrieval.lareqa_rankings``."""
        layout = pool_layout(examples, self.options.get("language") or None)
        dim = len(predictions[0]) if predictions else 1
        queries = np.zeros((len(layout["queries"]), dim))
        candidates = np.zeros((len(layout["candidates"]), dim))
        for vector, feature in zip(predictions, features):
            (queries if feature["side"] == 0 else candidates)[feature["index"]] = vector
        return lareqa_rankings(queries, candidates, layout["relevant"], k=int(self.settings["k"]))

    def references(self, examples):
        """The relevant candidates of each question, plus the question ids and candidate ids a
        submission names them by."""
        layout = pool_layout(examples, self.options.get("language") or None)
        return {"relevant": layout["relevant"], "k": int(self.settings["k"]),
                "questions": [str(examples[index]["id"]) for index in layout["queries"]],
                "candidates": layout["candidate_ids"]}


__all__ = ["AnswerRetrievalKind", "answer_sentence", "answer_sentence_index", "candidate_text", "context_spans",
           "pool_layout", "sentence_spans", "split_sentences"]
