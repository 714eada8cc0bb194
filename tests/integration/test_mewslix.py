"""Mewsli-X end to end through `xtui run` on the sample built from google-research's mel documents
(the scorer, texts, loaders and kind: tests/unit/test_mewslix.py)."""

from __future__ import annotations

import json

import pytest

from conftest import TESTS
from xtui.scorers import get_scorer

SAMPLE = TESTS / "data" / "mewslix"
DATA = SAMPLE / "data"


SPEC = """
name = "it-mewslix"
model = "tiny"
data_dir = "{data}"

[target]
task = "mewslix"
languages = ["ar", "es"]
max_steps = 6
batch_size = 4
learning_rate = 1e-3
max_length = 64

[fewshot]
shots = [0]
"""


@pytest.mark.slow
def test_mewslix_end_to_end_on_the_documented_sample(xtui, write_spec, home, tmp_path):
    """English pairs train the dual encoder (in-batch negatives); en, ar and es mentions retrieve from the
    4-entity candidate set; map@20 in every result, in the table, and in the submission files."""
    run = xtui("run", write_spec(SPEC.format(data=DATA)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
    assert sorted(r["type"] for r in results) == ["evaluate", "evaluate", "evaluate", "target"]
    target = next(r for r in results if r["type"] == "target")
    assert target["train"]["steps"] == 6 and target["train"]["train_examples"] == 4
    assert target["selection"]["strategy"] == "last checkpoint"
    losses = [json.loads(line)["loss"] for line in (home / "stages" / target["hash"][:16] / "events.jsonl").read_text()
              .splitlines() if json.loads(line)["event"] == "step"]
    assert losses[-1] < losses[0]
    mentions = {"en": 3, "ar": 1, "es": 1}
    for result in (r for r in results if r["type"] == "evaluate"):
        assert result["metric"] == "map@20" and result["scorer"]["name"] == "mewslix"
        assert result["evaluation"]["examples"] == {"en": 2, "ar": 1, "es": 1}[result["language"]] + 4
        # one gold entity among 4 candidates: a reciprocal rank of 1, 1/2, 1/3 or 1/4 per mention
        value = result["metrics"]["map@20"] * mentions[result["language"]]
        assert 0.25 * mentions[result["language"]] <= value <= mentions[result["language"]] + 1e-9
    assert "mewslix · map@20 (%) · K=0 (zero-shot)" in run.stdout
    exported = xtui("runs", "export", "latest", "--format", "xtreme-r", "--output", tmp_path / "sub", "--labels")
    assert exported.returncode == 0, exported.stderr
    predictions = json.loads((tmp_path / "sub" / "predictions" / "mewslix" / "test-en.json").read_text())
    labels = json.loads((tmp_path / "sub" / "labels" / "mewslix" / "test-en.json").read_text())
    assert labels == {"mel-readme-example-1": ["Q159741"], "12fe": ["Q1"], "30ba": ["Q1"]}
    assert all(sorted(ranked) == ["Q1", "Q159741", "Q38768", "Q691"] for ranked in predictions.values())
    english = next(r for r in results if r["type"] == "evaluate" and r["language"] == "en")
    assert get_scorer("mewslix").score(predictions, labels)["map@20"] == pytest.approx(english["metrics"]["map@20"])
