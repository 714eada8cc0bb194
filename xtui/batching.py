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


class ShardedBatches:
    """Another batch sampler's batches, each split across ``processes`` data-parallel processes, so that
    every optimizer step sees the same global batch as a one-process run (Accelerate's own sharding either
    multiplies the batch by the processes or, with ``split_batches``, drops and pads the short batches that
    length grouping and mixtures make).

    Process ``index`` gets its consecutive part of each batch (the first ``len % processes`` parts one
    example longer) as ``(feature index, weight, batch size)`` items; the weight, ``part size x processes /
    batch size``, makes the average of the processes' weighted mean losses the batch's mean loss. A part
    with no example (a batch smaller than the processes) is the batch's first example with weight 0, so
    that every process still takes part in the step."""

    def __init__(self, batches, processes: int, index: int):
        self.inner = batches
        self.processes = processes
        self.index = index
        self.batch_size = getattr(batches, "batch_size", None)
        self.drop_last = False

    def part(self, batch: list) -> list:
        count, extra = divmod(len(batch), self.processes)
        start = self.index * count + min(self.index, extra)
        mine = batch[start:start + count + (1 if self.index < extra else 0)]
        if not mine:
            return [(batch[0], 0.0, len(batch))]
        weight = len(mine) * self.processes / len(batch)
        return [(i, weight, len(batch)) for i in mine]

    def __iter__(self):
        return (self.part(list(batch)) for batch in self.inner)

    def __len__(self) -> int:
        return len(self.inner)


def mixture_weights(sizes: Sequence[int], policy: str, temperature: float = 2.0) -> list:
    """Probability of drawing each task's next batch in a multi-task mixture.

    ``proportional``: to its training set size; ``temperature``: to size ** (1 / T) (T = 1 is
    proportional, large T tends to uniform; XTREME-R and mT5 sample this way); ``uniform``.
    """
    if not sizes or any(size < 0 for size in sizes):
        raise ValueError(f"task sizes must be non-negative, got {list(sizes)}")
    if policy == "proportional":
        raw = [float(size) for size in sizes]
    elif policy == "temperature":
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        raw = [float(size) ** (1.0 / temperature) if size else 0.0 for size in sizes]
    elif policy == "uniform":
        raw = [1.0 if size else 0.0 for size in sizes]
    else:
        raise ValueError(f"unknown sampling policy {policy!r} (valid: proportional, temperature, uniform)")
    total = sum(raw)
    if total <= 0:
        raise ValueError("every task of the mixture is empty")
    return [value / total for value in raw]


class MixtureBatchSampler:
    """A DataLoader ``batch_sampler`` over several tasks' features laid end to end.

    Every batch holds one task's features (each task keeps its own length-grouped batches, as
    :class:`LengthGroupedBatchSampler` makes them). For each batch of an epoch the task is drawn
    with ``weights``; a task whose batches run out within the epoch starts a fresh shuffle of
    its data. An epoch is as many batches as all tasks have together, so with proportional
    weights one epoch sees about every example once. The order depends only on ``epoch_seed``
    (a resumed run skips the same batches it saw).
    """

    def __init__(self, task_lengths: Sequence[Sequence[int]], batch_size: int, weights: Sequence[float],
                 seed: int = 0, group_by_length: bool = True):
        if len(task_lengths) != len(weights):
            raise ValueError("one weight per task is needed")
        self.samplers = [LengthGroupedBatchSampler(lengths, batch_size, group_by_length=group_by_length)
                         for lengths in task_lengths]
        self.offsets = []
        offset = 0
        for lengths in task_lengths:
            self.offsets.append(offset)
            offset += len(lengths)
        self.weights = list(weights)
        self.batch_size = batch_size
        self.drop_last = False
        self.epoch_seed = seed

    def tasks(self, seed: Optional[int] = None) -> list:
        """The task index of every batch of the epoch."""
        rng = random.Random(f"mixture|{self.epoch_seed if seed is None else seed}")
        usable = [i for i, sampler in enumerate(self.samplers) if len(sampler)]
        weights = [self.weights[i] for i in usable]
        return rng.choices(usable, weights=weights, k=len(self))

    def batches(self, seed: Optional[int] = None) -> list:
        seed = self.epoch_seed if seed is None else seed
        queues: dict = {}
        rounds: dict = {}
        out = []
        for task in self.tasks(seed):
            if not queues.get(task):
                rounds[task] = rounds.get(task, -1) + 1
                # each task's own shuffle, per (epoch, task, round): independent of the other tasks
                queues[task] = self.samplers[task].batches(seed=hash_seed(seed, task, rounds[task]))[::-1]
            batch = queues[task].pop()
            out.append([self.offsets[task] + index for index in batch])
        return out

    def __iter__(self):
        return iter(self.batches())

    def __len__(self) -> int:
        return sum(len(sampler) for sampler in self.samplers)


def hash_seed(*parts) -> int:
    """A stable 63-bit seed from its parts (Python's hash() of a str varies between processes)."""
    import hashlib

    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big") >> 1
