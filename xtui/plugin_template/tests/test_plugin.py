"""The plugin as xtui sees it once installed: its task is registered, its files read, a spec plans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from xtui.data import load_examples
from xtui.plugins import load_plugins

HERE = Path(__file__).resolve().parents[1]


def test_the_task_is_registered_and_reads_its_files():
    registry = load_plugins()
    assert not [p for p in registry.plugins if p.error], [p.error for p in registry.plugins if p.error]
    task = registry.tasks["template_sentiment"]
    assert task.kind == "classification" and task.metric == "accuracy"
    train = load_examples(task, "en", "train", HERE / "data")
    assert len(train) == 16 and {e["label"] for e in train} == {0, 1}
    assert all(e["text"] and e["text_pair"] is None for e in train)
    assert len(load_examples(task, "de", "validation", HERE / "data")) == 8


def test_the_example_spec_plans(tmp_path):
    env = {**os.environ, "XTUI_HOME": str(tmp_path / "runs"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "xtui.cli", "run", "example.toml", "--dry-run", "--json"], cwd=HERE,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stages = json.loads(done.stdout)["stages"]
    assert {s["task"] for s in stages} == {"template_sentiment"}
    # train on English; evaluate English and German at K = 0; fine-tune on 4 German shots, 2 shot sets
    assert sorted(s["type"] for s in stages) == ["evaluate", "evaluate", "fewshot", "fewshot", "target"]
