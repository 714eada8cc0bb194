"""Few-shot sampling: K examples from a language's shot pool, seeded and label-stratified."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Optional, Sequence

from .errors import DataError


def sample_shots(
    labels: Sequence[Optional[int]], shots: int, seed: int, stratified: bool = True, what: str = "shot pool"
) -> list:
    """Indices of ``shots`` pool examples. With ``stratified`` and labels, every label gets
    its share of K (largest remainder, ties broken by the seed), as in a stratified split."""
    size = len(labels)
    if shots > size:
        raise DataError(f"{what}: K={shots} is larger than the pool of {size} examples (use K <= {size})")
    rng = random.Random(seed)
    if not stratified or any(label is None for label in labels):
        return sorted(rng.sample(range(size), shots))
    groups: dict = defaultdict(list)
    for index, label in enumerate(labels):
        groups[label].append(index)
    keys = sorted(groups)
    quotas = {key: shots * len(groups[key]) / size for key in keys}
    counts = {key: int(quotas[key]) for key in keys}
    rest = shots - sum(counts.values())
    order = sorted(keys, key=lambda key: (-(quotas[key] - counts[key]), rng.random()))
    for key in order[:rest]:
        counts[key] += 1
    chosen = []
    for key in keys:
        chosen.extend(rng.sample(groups[key], counts[key]))
    return sorted(chosen)
