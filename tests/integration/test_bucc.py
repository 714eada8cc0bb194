"""BUCC 2018 bitext mining through the CLI: one real run with the tiny model (the task, its
layout and the mining metric by hand are in tests/unit/test_bucc.py)."""

from __future__ import annotations

import json

import pytest

from support.data_folders import write_bucc

BUCC_SPEC = """
name = "it-bucc"
model = "tiny"
data_dir = "{data}"

[intermediate]
tasks = ["none"]

[target]
task = "bucc"
languages = ["de"]
max_length = 48

[fewshot]
shots = [0]
"""


@pytest.mark.slow
def test_bucc_end_to_end_with_the_tiny_model(xtui, write_spec, tmp_path, home):
    data = tmp_path / "data"
    rows = write_bucc(data)
    refused = xtui("run", write_spec(BUCC_SPEC.format(data=data).replace("shots = [0]", "shots = [0, 2]"), "k.toml"))
    assert refused.returncode == 2 and "retrieval task without training" in refused.stderr
    run = xtui("run", write_spec(BUCC_SPEC.format(data=data)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
    assert [r["type"] for r in results] == ["evaluate"]
    result = results[0]
    assert result["metric"] == "f1" and result["evaluation"]["split"] == "test"
    assert result["evaluation"]["examples"] == len(rows["validation"]) + len(rows["test"])
    metrics = result["metrics"]
    assert {"f1", "precision", "recall", "threshold", "validation_f1"} <= metrics.keys()
    precision, recall = metrics["precision"], metrics["recall"]
    assert round(recall * 3, 9) in (0, 1, 2, 3)  # of the three gold test pairs
    assert metrics["f1"] == pytest.approx(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    stage = json.loads(next((home / "stages").glob("*/stage.json")).read_text())
    assert stage["evaluation"]["fingerprint"].count("sha256:") == 2  # validation and test files
