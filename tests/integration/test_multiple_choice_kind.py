"""The multiple-choice kind end to end: English COPA -> XCOPA with the tiny model (slow)."""

from __future__ import annotations

import json

import pytest

from support.results import best_validation

XCOPA_SPEC = """
name = "it-xcopa"
model = "tiny"
data_dir = "{data}"

[intermediate]
tasks = ["none"]

[target]
task = "xcopa"
languages = ["it"]
max_steps = 20
batch_size = 16
learning_rate = 1e-3
max_length = 64

[target.per_task.xcopa]
train = "copa"

[fewshot]
shots = [0, 4]
shot_sets = 2
steps = 2
batch_size = 4
"""


@pytest.mark.slow
def test_xcopa_target_zero_and_few_shot(xtui, write_spec, shared_data, home):
    """English COPA (alone: train = "copa") -> XCOPA it, K = 0 and 4 (2 shot sets), selection on English COPA dev."""
    run = xtui("run", write_spec(XCOPA_SPEC.format(data=shared_data)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
    assert sorted(r["type"] for r in results) == ["evaluate", "fewshot", "fewshot", "target"]
    target = next(r for r in results if r["type"] == "target")
    assert target["train"]["train_examples"] == 400
    assert target["selection"]["strategy"] == "best English validation" and target["selection"]["metric"] == "accuracy"
    best = best_validation(home / "stages" / target["hash"][:16], "accuracy")  # English COPA dev, as logged
    assert target["validation"] == best["metrics"] and target["selection"]["step"] == best["step"]
    shot_sets = set()
    for result in results:
        if result["type"] in ("evaluate", "fewshot"):
            assert result["evaluation"] == {"split": "test", "language": "it", "examples": 300}
            # 300 questions: accuracy is a multiple of 1/300
            assert round(result["metrics"]["accuracy"] * 300, 6).is_integer()
        if result["type"] == "fewshot":
            shots = [json.loads(line) for line in (home / "stages" / result["hash"][:16] / "shots.jsonl").read_text().splitlines()]
            assert sorted(s["label"] for s in shots) == [0, 0, 1, 1]  # stratified by the right choice
            assert all(len(s["choices"]) == 2 for s in shots)
            shot_sets.add(tuple(result["shot_indices"]))
    assert len(shot_sets) == 2
    assert "xcopa · accuracy (%)" in run.stdout
