"""Metrics, computed the way the official evaluation scripts compute them.

Pure Python (seqeval imported lazily): the supervisor and the tests can use them without torch.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Optional, Sequence


def accuracy(predictions: Sequence[int], references: Sequence[int]) -> float:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not references:
        return 0.0
    return sum(int(p == r) for p, r in zip(predictions, references)) / len(references)


def macro_f1(predictions: Sequence[int], references: Sequence[int], num_labels: int) -> float:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    scores = []
    for label in range(num_labels):
        tp = sum(1 for p, r in zip(predictions, references) if p == label and r == label)
        fp = sum(1 for p, r in zip(predictions, references) if p == label and r != label)
        fn = sum(1 for p, r in zip(predictions, references) if p != label and r == label)
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def token_accuracy(predictions: Sequence[Sequence[int]], references: Sequence[Sequence[int]]) -> float:
    correct = total = 0
    for predicted, reference in zip(predictions, references, strict=True):
        if len(predicted) != len(reference):
            raise ValueError("a predicted sequence and its reference differ in length")
        correct += sum(int(p == r) for p, r in zip(predicted, reference))
        total += len(reference)
    return correct / total if total else 0.0


def is_iob(labels: Sequence[str]) -> bool:
    return any(label.startswith(("B-", "I-")) for label in labels)


def entity_scores(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict:
    """Span-level precision / recall / F1 of IOB2 tag sequences (conlleval, as seqeval computes it)."""
    from seqeval.metrics import f1_score, precision_score, recall_score

    predictions = [list(p) for p in predictions]
    references = [list(r) for r in references]
    return {
        "precision": float(precision_score(references, predictions, zero_division=0)),
        "recall": float(recall_score(references, predictions, zero_division=0)),
        "f1": float(f1_score(references, predictions, zero_division=0)),
    }


# --------------------------------------------------------------------------- extractive QA
#
# SQuAD v1.1: rajpurkar/SQuAD-explorer ``evaluate-v1.1.py`` (also xtreme's
# ``third_party/evaluate_squad.py``). MLQA: facebookresearch/MLQA ``mlqa_evaluation_v1.py``
# (xtreme's ``third_party/evaluate_mlqa.py``). Both score each question by the maximum
# over its reference answers and average over questions; the scripts print percentages,
# xtui keeps fractions like every other metric.

MLQA_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "hi": None,  # Hindi has no formal articles
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "ar": "\\sال^|ال",  # verbatim from the MLQA script: removes every "ال"
    "zh": None,  # Chinese has no formal articles
}
"""Per-language article patterns of the MLQA script (its seven languages, nothing else)."""

MLQA_WHITESPACE_LANGUAGES = ("en", "es", "hi", "vi", "de", "ar")
MLQA_MIXED_SEGMENTATION_LANGUAGES = ("zh",)
_CJK = re.compile("[\u4e00-\u9fa5]")
_ASCII_PUNCTUATION = frozenset(string.punctuation)


@lru_cache(maxsize=1)
def unicode_punctuation() -> frozenset:
    """The MLQA script's PUNCT: every Unicode category P* character plus ``string.punctuation``."""
    return frozenset(
        chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")
    ) | frozenset(string.punctuation)


def squad_normalize(text: str) -> str:
    """SQuAD v1.1: lower case, drop ASCII punctuation, the articles a/an/the, extra whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())



def mixed_segmentation(text: str) -> list:
    """MLQA's Chinese tokenisation: every CJK character and punctuation mark is a token,
    the runs between them are split on whitespace."""
    punctuation = unicode_punctuation()
    tokens: list = []
    run = ""
    for char in text:
        if _CJK.search(char) or char in punctuation:
            if run:
                tokens.extend(run.split())
                run = ""
            tokens.append(char)
        else:
            run += char
    if run:
        tokens.extend(run.split())
    return tokens


def mlqa_normalize(text: str, language: str) -> str:
    """MLQA: lower case, drop Unicode punctuation, the language's articles, then re-join the
    whitespace tokens (or the mixed segmentation for Chinese) with single spaces."""
    if language not in MLQA_ARTICLES:
        raise ValueError(f"MLQA normalisation has no language {language!r} (valid: {', '.join(MLQA_ARTICLES)})")
    punctuation = unicode_punctuation()
    text = "".join(ch for ch in text.lower() if ch not in punctuation)
    if MLQA_ARTICLES[language]:
        text = re.sub(MLQA_ARTICLES[language], " ", text)
    tokens = mixed_segmentation(text) if language in MLQA_MIXED_SEGMENTATION_LANGUAGES else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


def _token_f1(prediction: list, reference: list) -> float:
    common = Counter(prediction) & Counter(reference)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(prediction)
    recall = same / len(reference)
    return 2 * precision * recall / (precision + recall)


def qa_example_scores(prediction: str, references: Sequence[str], language: Optional[str] = None) -> tuple:
    """(exact match, F1) of one answer: the best over the references.

    ``language`` None normalises as SQuAD v1.1; a language code as the MLQA script does for
    that language. A question without references (SQuAD 2.0 "no answer") scores 1 when the
    prediction normalises to nothing, as the SQuAD 2.0 script scores it.
    """
    normalize = squad_normalize if language is None else (lambda text: mlqa_normalize(text, language))
    predicted = normalize(prediction)
    if not references:
        return (float(predicted == ""), float(predicted == ""))
    exact = max(float(predicted == normalize(reference)) for reference in references)
    f1 = max(_token_f1(predicted.split(), normalize(reference).split()) for reference in references)
    return exact, f1


def qa_scores(predictions: Sequence[str], references: Sequence[Sequence[str]], language: Optional[str] = None) -> dict:
    """Exact match, F1 and their mean over questions (fractions, not percentages)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} questions")
    if not references:
        return {"exact_match": 0.0, "f1": 0.0, "em_f1_mean": 0.0}
    scores = [qa_example_scores(p, r, language) for p, r in zip(predictions, references)]
    exact = sum(s[0] for s in scores) / len(scores)
    f1 = sum(s[1] for s in scores) / len(scores)
    return {"exact_match": exact, "f1": f1, "em_f1_mean": (exact + f1) / 2}
