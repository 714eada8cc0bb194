"""Sentence retrieval metrics (Tatoeba, BUCC) on embeddings, as XTREME computes them.

NumPy only: embeddings come from the worker; everything here is plain arithmetic that
tests check against hand-computed values.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def normalise(embeddings: np.ndarray) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the hidden states of the real (unmasked) tokens: (batch, length, dim) -> (batch, dim)."""
    mask = np.asarray(mask, dtype=np.float64)[..., None]
    return (np.asarray(hidden, dtype=np.float64) * mask).sum(1) / np.maximum(mask.sum(1), 1e-12)


def tatoeba_accuracy(sources: np.ndarray, targets: np.ndarray) -> dict:
    """Cosine nearest-neighbour accuracy of parallel rows, in both directions, and their mean.

    Row i of ``sources`` is the translation of row i of ``targets``.
    """
    similarity = normalise(sources) @ normalise(targets).T
    indices = np.arange(len(similarity))
    source_to_target = float(np.mean(similarity.argmax(axis=1) == indices))
    target_to_source = float(np.mean(similarity.argmax(axis=0) == indices))
    return {"accuracy": (source_to_target + target_to_source) / 2,
            "accuracy_source_to_target": source_to_target, "accuracy_target_to_source": target_to_source}


def margin_scores(sources: np.ndarray, targets: np.ndarray, k: int = 4) -> np.ndarray:
    """Ratio-margin scores (Artetxe & Schwenk 2019) of every (source, target) pair:
    cos(x, y) / (mean cos of x's k nearest targets / 2 + mean cos of y's k nearest sources / 2)."""
    similarity = normalise(sources) @ normalise(targets).T
    k_source = min(k, similarity.shape[1])
    k_target = min(k, similarity.shape[0])
    source_neighbourhood = np.sort(similarity, axis=1)[:, -k_source:].mean(axis=1)
    target_neighbourhood = np.sort(similarity, axis=0)[-k_target:, :].mean(axis=0)
    return similarity / ((source_neighbourhood[:, None] + target_neighbourhood[None, :]) / 2)


def mine_candidates(sources: np.ndarray, targets: np.ndarray, k: int = 4) -> list:
    """Candidate pairs (score, source index, target index): each sentence's best match by
    margin, in both directions (XTREME's max-score mining), best first, without duplicates."""
    scores = margin_scores(sources, targets, k)
    pairs = {}
    for i, j in enumerate(scores.argmax(axis=1)):
        pairs[(i, int(j))] = float(scores[i, j])
    for j, i in enumerate(scores.argmax(axis=0)):
        pairs[(int(i), j)] = float(scores[i, j])
    return sorted(((s, i, j) for (i, j), s in pairs.items()), reverse=True)


def precision_recall_f1(predicted: Iterable, gold: set) -> dict:
    predicted = set(predicted)
    correct = len(predicted & gold)
    precision = correct / len(predicted) if predicted else 0.0
    recall = correct / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def best_threshold(candidates: Sequence, gold: set) -> float:
    """The margin threshold that maximises F1 of the mined pairs (chosen on validation data)."""
    best_f1, best = -1.0, float("inf")
    correct = 0
    for rank, (score, i, j) in enumerate(candidates, 1):
        correct += (i, j) in gold
        precision, recall = correct / rank, (correct / len(gold) if gold else 0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1:
            best_f1, best = f1, score
    return best


def bucc_scores(candidates: Sequence, gold: set, threshold: float) -> dict:
    """Precision, recall and F1 of the candidates scoring at least ``threshold``."""
    return {**precision_recall_f1(((i, j) for s, i, j in candidates if s >= threshold), gold), "threshold": threshold}
