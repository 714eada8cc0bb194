"""``xtui runs rescore`` on a real experiment: every stored metric comes back from the saved
predictions alone, the leaderboard folder exported from them scores the same, and a tampered
result is caught."""

from __future__ import annotations

import json

import pytest

from xtui.predictions import PREDICTIONS_FILE, read_predictions

pytest.importorskip("torch")

RESCORE_SPEC = """
name = "it-rescore"
model = "tiny"
data_dir = "{data}"

[intermediate]
tasks = ["none"]

[target]
tasks = ["xnli", "udpos"]
languages = ["de"]
max_steps = 6
batch_size = 16
learning_rate = 1e-3
max_length = 64

[fewshot]
shots = [0, 4]
shot_sets = 1
steps = 2
batch_size = 4
"""


@pytest.mark.slow
def test_rescore_reproduces_every_stored_metric(xtui, write_spec, shared_data, home):
    run = xtui("run", write_spec(RESCORE_SPEC.format(data=shared_data)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
    evaluations = [r for r in results if r["type"] in ("evaluate", "fewshot")]
    assert len(evaluations) == 5  # xnli en, de, de K=4; udpos de, de K=4 (the udpos sample has no English test)
    for result in evaluations:
        saved = read_predictions(home / "stages" / result["hash"][:16] / PREDICTIONS_FILE)
        assert len(saved["outputs"]) == result["evaluation"]["examples"] and saved["meta"]["stage"] == result["hash"]
        assert result["scorer"]["name"] == {"xnli": "classification", "udpos": "xtreme_udpos"}[result["task"]]
    rescored = xtui("runs", "rescore", "latest", "--json")
    assert rescored.returncode == 0, rescored.stdout[-3000:] + rescored.stderr[-3000:]
    rows = json.loads(rescored.stdout)
    assert len(rows) == 5 and all(row["status"] == "same" for row in rows)
    assert all(row["rescored"] == row["stored"] for row in rows)
    # the leaderboard folder from the same files, scored back by evaluate.py's readers
    exported = xtui("runs", "export", "latest", "--format", "xtreme", "--output", home / "submission", "--labels")
    assert exported.returncode == 0, exported.stdout[-3000:] + exported.stderr[-3000:]
    assert "wrote 3 files" in exported.stdout and "missing tasks: panx pawsx xquad mlqa tydiqa bucc2018 tatoeba" in exported.stdout
    from unit.test_xtreme_golden import language_scores
    from xtui.scorers import get_scorer

    for result in (r for r in evaluations if r["type"] == "evaluate"):
        scores = language_scores(result["task"], result["language"], get_scorer(result["scorer"]["name"]),
                                 root=home / "submission")
        assert {k: scores[k] for k in ("accuracy", "f1") if k in scores} == \
            {k: result["metrics"][k] for k in ("accuracy", "f1") if k in scores}
    # a stored number that the predictions do not give is caught
    target = next(r for r in evaluations if r["task"] == "udpos" and r["type"] == "evaluate")
    path = home / "stages" / target["hash"][:16] / "result.json"
    tampered = json.loads(path.read_text())
    tampered["metrics"]["f1"] += 0.01
    path.write_text(json.dumps(tampered))
    again = xtui("runs", "rescore", "latest")
    assert again.returncode == 1 and "1 different" in again.stdout and "4 same" in again.stdout
