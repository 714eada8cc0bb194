"""A kind xtui does not ship (examples/kind-plugin: sentence-pair regression), installed as a plugin
and run end to end: planned, trained, few-shot fine-tuned and scored with no line of xtui naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from support.results import saved_pairs

pytestmark = pytest.mark.slow


def test_a_third_party_kind_trains_and_scores_through_the_plugin_api(xtui, home, tmp_path):
    site = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(site), str(REPO / "examples" / "kind-plugin")],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = json.loads(xtui("tasks", "--json", env=env).stdout)
    assert {"name": "pair_similarity", "kind": "regression", "scorer": "pair_correlation"}.items() <= next(
        t for t in listed if t["name"] == "pair_similarity").items()
    run = xtui("run", "examples/kind-plugin/example.toml", env=env, cwd=REPO, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
    assert sorted(r["type"] for r in results) == ["evaluate", "evaluate", "fewshot", "fewshot", "target"]
    from scipy.stats import pearsonr, spearmanr

    for result in results:
        if result["type"] != "target":  # the plugin's scorer, against SciPy on the predictions it saved
            predicted, gold = saved_pairs(home / "stages" / result["hash"][:16])
            assert len(gold) == result["evaluation"]["examples"]
            assert {k: result["metrics"][k] for k in ("pearson", "spearman", "mse")} == pytest.approx({
                "pearson": pearsonr(predicted, gold)[0], "spearman": spearmanr(predicted, gold)[0],
                "mse": sum((p - g) ** 2 for p, g in zip(predicted, gold)) / len(gold)})
    target = next(r for r in results if r["type"] == "target")
    events = [json.loads(l) for l in (home / "stages" / target["hash"][:16] / "events.jsonl").read_text().splitlines()]
    losses = [e["loss"] for e in events if e["event"] == "step"]
    assert len(losses) == 6 and all(loss > 0 for loss in losses)  # mean squared error, through the kind's loss
    assert "pair_similarity · pearson (%) · K=4" in run.stdout
    rescored = xtui("runs", "rescore", "latest", env=env)
    assert rescored.returncode == 0 and "different" not in rescored.stdout, rescored.stdout + rescored.stderr
