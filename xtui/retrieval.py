"""Sentence retrieval metrics (Tatoeba, BUCC, LAReQA) on embeddings, as XTREME computes them.

NumPy only: embeddings come from the worker; everything here is plain arithmetic that
tests check against hand-computed values.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

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


def nearest(queries: np.ndarray, database: np.ndarray, k: int, budget: int = 1 << 24) -> tuple:
    """Cosine similarities and indices of each query's ``k`` nearest database rows, best first.

    Rows are normalised here; the similarity matrix is computed ``budget`` cells at a time, so
    memory stays bounded for corpora of any size (BUCC's test sets have ~10^4 sentences a side).
    """
    queries, database = normalise(queries), normalise(database)
    k = min(k, len(database))
    rows = max(1, budget // max(1, len(database)))
    similarities = np.empty((len(queries), k))
    indices = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), rows):
        block = queries[start:start + rows] @ database.T
        if k < block.shape[1]:
            chosen = np.argpartition(-block, k - 1, axis=1)[:, :k]
        else:
            chosen = np.broadcast_to(np.arange(block.shape[1]), block.shape).copy()
        values = np.take_along_axis(block, chosen, axis=1)
        order = np.argsort(-values, axis=1, kind="stable")
        similarities[start:start + rows] = np.take_along_axis(values, order, axis=1)
        indices[start:start + rows] = np.take_along_axis(chosen, order, axis=1)
    return similarities, indices


def mine_candidates(sources: np.ndarray, targets: np.ndarray, k: int = 4, one_to_one: bool = True) -> list:
    """Candidate pairs (score, source index, target index), best first: XTREME's BUCC mining
    (LASER's ``mine_bitext`` with ``retrieval="max"``, ``margin="ratio"``, ``neighborhood=k``).

    Each sentence's candidates are its k nearest neighbours on the other side (cosine); its best
    one by ratio margin (as ``margin_scores``) is proposed, in both directions. With ``one_to_one``
    (XTREME) a sentence enters at most one pair, taken greedily from the best score down;
    without it, only duplicate pairs are merged.
    """
    if not len(sources) or not len(targets):
        return []
    forward, forward_index = nearest(sources, targets, k)
    backward, backward_index = nearest(targets, sources, k)
    forward_mean, backward_mean = forward.mean(axis=1), backward.mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0: a sentence unlike everything scores 0
        forward_scores = np.nan_to_num(forward / ((forward_mean[:, None] + backward_mean[forward_index]) / 2))
        backward_scores = np.nan_to_num(backward / ((backward_mean[:, None] + forward_mean[backward_index]) / 2))
    proposals = []
    for i, best in enumerate(forward_scores.argmax(axis=1)):
        proposals.append((float(forward_scores[i, best]), i, int(forward_index[i, best])))
    for j, best in enumerate(backward_scores.argmax(axis=1)):
        proposals.append((float(backward_scores[j, best]), int(backward_index[j, best]), j))
    proposals.sort(key=lambda p: (-p[0], p[1], p[2]))
    mined, pairs, used_sources, used_targets = [], set(), set(), set()
    for score, i, j in proposals:
        if (i, j) in pairs or (one_to_one and (i in used_sources or j in used_targets)):
            continue
        pairs.add((i, j))
        used_sources.add(i)
        used_targets.add(j)
        mined.append((score, i, j))
    return mined


def precision_recall_f1(predicted: Iterable, gold: set) -> dict:
    predicted = set(predicted)
    correct = len(predicted & gold)
    precision = correct / len(predicted) if predicted else 0.0
    recall = correct / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def best_threshold(candidates: Sequence, gold: set) -> float:
    """The margin threshold that maximises F1 of the mined pairs (chosen on validation data).

    As XTREME's ``bucc_optimize``: halfway between the score of the last candidate kept and the
    next one, so that a test set's scores between the two fall on the side the data suggests.
    """
    best_f1, best_rank = -1.0, 0
    correct = 0
    for rank, (score, i, j) in enumerate(candidates, 1):
        correct += (i, j) in gold
        precision, recall = correct / rank, (correct / len(gold) if gold else 0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1:
            best_f1, best_rank = f1, rank
    if not candidates:
        return float("inf")
    kept = candidates[best_rank - 1][0]
    return (kept + candidates[best_rank][0]) / 2 if best_rank < len(candidates) else kept


def bucc_scores(candidates: Sequence, gold: set, threshold: float) -> dict:
    """Precision, recall and F1 of the candidates scoring at least ``threshold``."""
    return {**precision_recall_f1(((i, j) for s, i, j in candidates if s >= threshold), gold), "threshold": threshold}


def average_precision_at_k(relevance: Sequence, relevant: int, k: Optional[int] = 20) -> float:
    """AP@k of one ranking: ``relevance`` is 0/1 per ranked item, best first; ``relevant`` is how
    many relevant items the pool holds (retrieved or not).

    AP@k = (1 / min(R, k)) * sum over ranks i <= k of precision@i * rel(i). With k >= R (LAReQA:
    R = 11 answers, one per language, k = 20) the denominator is R, as in the LAReQA paper's mAP;
    ``k=None`` gives the full average precision (XTREME's ``utils_lareqa.mean_avg_prec``, i.e.
    scikit-learn's ``average_precision_score`` on a ranking without ties). No relevant item: 0.
    """
    if relevant <= 0:
        return 0.0
    ranked = np.asarray(relevance, dtype=np.float64)
    if k is not None:
        ranked = ranked[:k]
    hits = np.cumsum(ranked)
    precision = hits / np.arange(1, len(ranked) + 1)
    denominator = relevant if k is None else min(relevant, k)
    return float((precision * ranked).sum() / denominator)


def mean_average_precision_at_k(queries: np.ndarray, candidates: np.ndarray, relevant: Sequence,
                                k: Optional[int] = 20, budget: int = 1 << 22) -> float:
    """mAP@k of cosine retrieval: query i's relevant candidates are the indices in ``relevant[i]``.

    Candidates are ranked by cosine similarity, best first; equal scores keep the candidates' order
    (a stable sort), so a tie is broken the same way every time. ``k=None``: full mAP.
    """
    if not len(queries):
        return 0.0
    queries, candidates = normalise(queries), normalise(candidates)
    rows = max(1, budget // max(1, len(candidates)))
    scores = []
    for start in range(0, len(queries), rows):
        block = queries[start:start + rows] @ candidates.T
        order = np.argsort(-block, axis=1, kind="stable")
        if k is not None:
            order = order[:, :k]
        marks = np.zeros(block.shape, dtype=np.float64)
        counts = np.zeros(len(block))
        for offset in range(len(block)):
            wanted = sorted(set(int(index) for index in relevant[start + offset]))
            marks[offset, wanted] = 1.0
            counts[offset] = len(wanted)
        ranked = np.take_along_axis(marks, order, axis=1)
        precision = np.cumsum(ranked, axis=1) / np.arange(1, ranked.shape[1] + 1)
        denominator = counts if k is None else np.minimum(counts, k)
        totals = (precision * ranked).sum(axis=1)
        scores.extend(np.where(counts > 0, totals / np.maximum(denominator, 1), 0.0).tolist())
    return float(np.mean(scores))
