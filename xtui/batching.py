"""Length-grouped training batches (no torch import: the worker wraps this in its DataLoader).

Dynamic padding pads every batch to its longest sequence, so batches of similar lengths
waste less compute on padding. Like ``transformers.Trainer``'s ``group_by_length``: shuffle
the examples, cut the order into mega-batches of ``mega`` batches, sort each mega-batch by
length and cut it into batches, then shuffle the batches. The batch with the longest
sequence goes first, so an out-of-memory error (and ``--auto-batch-size``) happens at the
first step rather than late in an epoch. Every example appears exactly once per epoch, and
the order depends only on the seed, so a resumed run sees the same batches.
"""

from __future__ import annotations

import random
from typing import Optional, Sequence

MEGA_BATCHES = 50
"""Batches per mega-batch (Trainer's LengthGroupedSampler uses 50 as well)."""


def length_grouped_batches(lengths: Sequence[int], batch_size: int, seed: int, mega: int = MEGA_BATCHES) -> list:
    """Batches (lists of indices into ``lengths``) for one epoch; the last one may be smaller."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    size = batch_size * max(1, mega)
    batches = []
    for start in range(0, len(order), size):
        # stable sort of a shuffled chunk: ties keep their random order
        chunk = sorted(order[start:start + size], key=lambda i: -lengths[i])
        batches.extend(chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    if batches:
        longest = max(range(len(batches)), key=lambda b: max(lengths[i] for i in batches[b]))
        batches.insert(0, batches.pop(longest))
    return batches


def padded_tokens(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> int:
    """Tokens a batch schedule computes on with dynamic padding (real tokens + padding)."""
    return sum(len(b) * max(lengths[i] for i in b) for b in batches if b)


class LengthGroupedBatchSampler:
    """A DataLoader ``batch_sampler``: length-grouped batches, reshuffled per epoch.

    Set ``epoch_seed`` before iterating over an epoch (the training loop derives it from the
    stage's seed and the epoch number). ``group_by_length=False`` gives plain shuffled batches.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, group_by_length: bool = True,
                 mega: int = MEGA_BATCHES):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.drop_last = False
        self.epoch_seed = seed
        self.group_by_length = group_by_length
        self.mega = mega

    def batches(self, seed: Optional[int] = None) -> list:
        seed = self.epoch_seed if seed is None else seed
        if self.group_by_length:
            return length_grouped_batches(self.lengths, self.batch_size, seed, self.mega)
        order = list(range(len(self.lengths)))
        random.Random(seed).shuffle(order)
        return [order[j:j + self.batch_size] for j in range(0, len(order), self.batch_size)]

    def __iter__(self):
        return iter(self.batches())

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size
