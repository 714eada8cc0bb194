"""Sentence retrieval on embeddings (Tatoeba, BUCC, LAReQA, Mewsli-X), as XTREME computes it; the metrics
themselves are the scorers of ``xtui.scorers``.

NumPy only: embeddings come from the worker; everything here is plain arithmetic that
tests check against hand-computed values.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def normalise(embeddings: np.ndarray) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.maximum(norms, 1e-12)


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the hidden states of the real (unmasked) tokens: (batch, length, dim) -> (batch, dim)."""
    mask = np.asarray(mask, dtype=np.float64)[..., None]
    return (np.asarray(hidden, dtype=np.float64) * mask).sum(1) / np.maximum(mask.sum(1), 1e-12)


def nearest_indices(queries: np.ndarray, database: np.ndarray, budget: int = 1 << 24) -> np.ndarray:
    """Each query's cosine nearest database row (the first of equally near rows, as faiss's
    exhaustive 1-NN search keeps it), ``budget`` similarity cells at a time."""
    queries, database = normalise(queries), normalise(database)
    rows = max(1, budget // max(1, len(database)))
    found = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), rows):
        found[start:start + rows] = (queries[start:start + rows] @ database.T).argmax(axis=1)
    return found


def tatoeba_accuracy(sources: np.ndarray, targets: np.ndarray) -> dict:
    """The ``tatoeba`` scorer's metrics of parallel rows (row i of ``sources`` translates row i
    of ``targets``): the headline ``accuracy`` is targets querying sources, as XTREME's script
    (English queries, the other language indexed); the other direction is secondary."""
    from .scorers import score_tatoeba

    predictions = {"target_to_source": nearest_indices(targets, sources).tolist(),
                   "source_to_target": nearest_indices(sources, targets).tolist()}
    return score_tatoeba(predictions, list(range(len(sources))))


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


def lareqa_rankings(queries: np.ndarray, candidates: np.ndarray, relevant: Sequence, k: int = 20,
                    budget: int = 1 << 22) -> dict:
    """The retrieval of every query, as the ``lareqa`` scorer reads it: ``ranked`` (its top ``k``
    candidates) and ``relevant_ranks`` (the 0-based rank of each of its relevant candidates).

    Candidates are ranked as XTREME-R's ``mean_avg_prec_at_k`` ranks them: float32 unit vectors,
    float32 dot products, then ``xtui.scorers.official_ranking``. There each query is one
    vector-matrix product, where equal candidates score exactly alike; here queries go ``budget``
    cells at a time through one matrix product, which can round equal columns apart, so every
    candidate takes the score of the first candidate equal to it: ties stay exact ties, and fall
    as they fall in the official code.
    """
    from .scorers import official_ranking

    queries = normalise(queries).astype(np.float32)
    candidates = normalise(candidates).astype(np.float32)
    first: dict = {}
    same_as = np.array([first.setdefault(row.tobytes(), index) for index, row in enumerate(candidates)], dtype=np.int64)
    rows = max(1, budget // max(1, len(candidates)))
    ranked, ranks = [], []
    for start in range(0, len(queries), rows):
        block = (queries[start:start + rows] @ candidates.T)[:, same_as]
        for offset, scores in enumerate(block):
            order = official_ranking(scores)
            position = np.empty(len(order), dtype=np.int64)
            position[order] = np.arange(len(order))
            ranked.append(order[:k].tolist())
            ranks.append(sorted(int(position[index]) for index in set(int(i) for i in relevant[start + offset])))
    return {"ranked": ranked, "relevant_ranks": ranks}


def top_k(queries: np.ndarray, candidates: np.ndarray, k: int, budget: int = 1 << 22) -> list:
    """Each query's ``k`` most cosine-similar candidates (indices, best first), as XTREME-R's Mewsli-X
    evaluation finds them with faiss's exhaustive ``IndexFlatIP`` on L2-normalised float32 vectors;
    equal scores keep the earlier candidate first. ``budget`` similarity cells at a time."""
    queries = normalise(queries).astype(np.float32)
    candidates = normalise(candidates).astype(np.float32)
    k = min(k, len(candidates))
    rows = max(1, budget // max(1, len(candidates)))
    ranked: list = []
    for start in range(0, len(queries), rows):
        scores = queries[start:start + rows] @ candidates.T
        ranked.extend(np.argsort(-scores, axis=1, kind="stable")[:, :k].tolist())
    return ranked


def mean_average_precision_at_k(queries: np.ndarray, candidates: np.ndarray, relevant: Sequence,
                                k: Optional[int] = 20) -> float:
    """mAP@k of cosine retrieval (``k=None``: full mAP): query i's relevant candidates are the
    indices in ``relevant[i]``; ranked as XTREME-R ranks them (see ``lareqa_rankings``)."""
    from .scorers import average_precision_from_ranks

    if not len(queries):
        return 0.0
    ranks = lareqa_rankings(queries, candidates, relevant, k=k or 1)["relevant_ranks"]
    return float(np.mean([average_precision_from_ranks(r, k) for r in ranks]))
