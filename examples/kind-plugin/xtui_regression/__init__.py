"""A kind xtui does not ship, registered the way the built-in kinds are: ``regression`` (a real-valued
score per sentence pair, trained with mean squared error, scored by Pearson and Spearman correlation),
with one task, ``pair_similarity``, and its scorer. Nothing in xtui names this kind.

This module is what xtui imports to plan (no torch); the kind's class is in ``kind.py``, which only
the worker imports.
"""

from __future__ import annotations

import math

from xtui.hookspecs import hookimpl
from xtui.scorers import register_scorer
from xtui.tasks import Task


def _ranks(values: list) -> list:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):  # ties share their mean rank
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def _pearson(x: list, y: list) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / (sx * sy) if sx and sy else 0.0


@register_scorer("pair_correlation", "1", "Pearson and Spearman correlation (as STS-B is scored), plus MSE")
def score_correlation(predictions, references, language=None) -> dict:
    predicted, gold = [float(p) for p in predictions], [float(r) for r in references]
    return {"pearson": _pearson(predicted, gold), "spearman": _pearson(_ranks(predicted), _ranks(gold)),
            "mse": sum((p - g) ** 2 for p, g in zip(predicted, gold)) / len(gold)}


def convert(row: dict) -> dict:
    return {"text": row["sentence1"], "text_pair": row["sentence2"], "score": float(row["score"]) / 5.0}


TASK = Task(
    name="pair_similarity",
    kind="regression",
    languages=("en", "de"),
    metric="pearson",
    scorer="pair_correlation",
    convert=convert,
    description="Example: sentence-pair similarity 0-5 (local JSONL), a third-party kind",
)


@hookimpl
def register_kinds(register):
    register("regression", "xtui_regression.kind:RegressionKind", "1", poolings=("mean",),
             default_scorer="pair_correlation")


@hookimpl
def register_tasks(register):
    register(TASK)
