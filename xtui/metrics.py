"""Metrics, computed the way the official evaluation scripts compute them.

Pure Python (seqeval imported lazily): the supervisor and the tests can use them without torch.
"""

from __future__ import annotations

from typing import Sequence


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
