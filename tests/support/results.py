"""What a finished stage's own files say, read here without xtui's scorers: the predictions an
evaluation saved (predictions.jsonl.gz) and the validation evaluations a training stage logged
(events.jsonl). A real run's stored metrics are checked against them: a score that merely lies
between 0 and 1 could be any number."""

from __future__ import annotations

import json
from pathlib import Path

from xtui.predictions import PREDICTIONS_FILE, read_predictions


def saved_pairs(stage_dir: Path) -> tuple:
    """The decoded outputs and the gold side an evaluation saved, one entry per example."""
    saved = read_predictions(Path(stage_dir) / PREDICTIONS_FILE)
    assert saved["meta"]["per_example"] and len(saved["outputs"]) == saved["meta"]["examples"], saved["meta"]
    return saved["outputs"], saved["references"]


def saved_accuracy(stage_dir: Path) -> float:
    """The share of the saved predictions that equal their gold label."""
    outputs, references = saved_pairs(stage_dir)
    return sum(output == reference for output, reference in zip(outputs, references)) / len(references)


def best_validation(stage_dir: Path, metric: str) -> dict:
    """The validation evaluation a "best English validation" selection keeps: the first of those
    the stage logged with the highest ``metric``."""
    events = [json.loads(line) for line in (Path(stage_dir) / "events.jsonl").read_text().splitlines() if line.strip()]
    evaluations = [e for e in events if e["event"] == "eval" and e.get("split") == "validation"]
    assert evaluations, f"{stage_dir}: no validation evaluation logged"
    return max(evaluations, key=lambda e: e["metrics"][metric])
