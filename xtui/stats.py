"""Paired statistics over shot sets and seeds: is a Δ against ``none`` distinguishable from zero?

Every intermediate task and every seed sees the same shot sets (a set depends on task, language,
K and its index only), so the score of ``anli`` on shot set 3 and the score of ``none`` on shot
set 3 form a pair. A cell's Δ is the mean of its per-draw differences (a draw is one (seed, shot
set)); its 95 % interval comes from a paired bootstrap over the draws (seeded by the cell, so the
same results give the same interval), its p-value from a paired t-test. Holm's step-down
correction adjusts the p-values of a table's cells when asked.

Pure Python apart from the bootstrap (numpy, imported when an interval is computed).
"""

from __future__ import annotations

import math
import statistics
import zlib
from typing import Optional, Sequence

LEVEL = 0.95
RESAMPLES = 10_000
MIN_PAIRS = 3


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_test_p(differences: Sequence[float]) -> Optional[float]:
    """Two-sided p-value of the paired t-test on ``differences`` (as scipy.stats.ttest_rel): 0 when
    every difference is the same non-zero value (t is infinite); None with fewer than two pairs or
    when every difference is 0 (the test is undefined there)."""
    n = len(differences)
    if n < 2:
        return None
    sd = statistics.stdev(differences)
    if not math.isfinite(sd):
        return None
    if sd == 0:
        return 0.0 if statistics.fmean(differences) != 0 else None
    t = statistics.fmean(differences) / (sd / math.sqrt(n))
    df = n - 1
    return min(1.0, betainc(df / 2.0, 0.5, df / (df + t * t)))


def bootstrap_interval(differences: Sequence[float], seed: int, level: float = LEVEL,
                       resamples: int = RESAMPLES) -> Optional[tuple]:
    """Percentile interval of the mean difference, resampling the pairs with replacement; None below
    ``MIN_PAIRS`` pairs (two pairs give three possible means: no interval worth the name)."""
    n = len(differences)
    if n < MIN_PAIRS:
        return None
    import numpy

    values = numpy.asarray(differences, dtype=float)
    rng = numpy.random.default_rng(seed)
    means = values[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = numpy.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def cell_seed(*key) -> int:
    """A bootstrap seed from a cell's coordinates: the same cell gets the same interval in every view."""
    return zlib.crc32("|".join(map(str, key)).encode())


def paired_delta(base: dict, other: dict, key: tuple = ()) -> Optional[dict]:
    """Δ of ``other`` against ``base`` (draw -> value each, a draw being (seed, shot set)) over the
    draws both have: mean, 95 % bootstrap interval (low, high; None below ``MIN_PAIRS`` pairs), paired t-test
    p-value, number of pairs, and ``excludes_zero`` (the interval lies on one side of 0; never with
    fewer than ``MIN_PAIRS`` pairs)."""
    draws = [d for d in other if d in base]
    if not draws:
        return None
    differences = [other[d] - base[d] for d in draws]
    interval = bootstrap_interval(differences, cell_seed(*key))
    low, high = interval if interval else (None, None)
    return {"mean": statistics.fmean(differences), "low": low, "high": high, "p": t_test_p(differences),
            "n": len(differences), "excludes_zero": interval is not None and (low > 0 or high < 0)}


def holm(pvalues: Sequence[Optional[float]]) -> list:
    """Holm's step-down adjusted p-values (None stays None); monotone, capped at 1."""
    ranked = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    adjusted: list = [None] * len(pvalues)
    running, m = 0.0, len(ranked)
    for rank, (p, index) in enumerate(ranked):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def variance_parts(values: dict) -> Optional[dict]:
    """When both seeds and shot sets vary: the std of the per-seed means (seed variance) and the mean
    over seeds of the std over shot sets (shot-set variance), reported apart instead of pooled."""
    by_seed: dict = {}
    for (seed, shot_set), value in values.items():
        by_seed.setdefault(seed, []).append(value)
    if len(by_seed) < 2 or not all(len(v) > 1 for v in by_seed.values()):
        return None
    return {"seed_std": statistics.stdev(statistics.fmean(v) for v in by_seed.values()),
            "shot_set_std": statistics.fmean(statistics.stdev(v) for v in by_seed.values())}
