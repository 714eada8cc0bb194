"""LAReQA (XQuAD-R answer retrieval, XTREME-R) through the CLI: one real run with the tiny model
on the XQuAD samples cut to their first article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xtui.data import load_examples
from xtui.plugins import load_plugins

LAREQA_SPEC = """
name = "it-lareqa"
model = "tiny"
data_dir = "{data}"

[intermediate]
tasks = ["none"]

[target]
task = "lareqa"
languages = ["de"]
max_steps = 4
batch_size = 8
learning_rate = 1e-3
max_length = 64

[fewshot]
shots = [0]
"""


def _trimmed_data(root: Path, source: Path, articles: int = 1) -> None:
    """A data folder from the real samples: SQuAD v1.1 train linked, XQuAD cut to its first article."""
    (root / "squad_v1").mkdir(parents=True)
    (root / "squad_v1" / "en").symlink_to(source / "squad_v1" / "en")
    for folder in sorted((source / "xquad").iterdir()):
        document = json.loads((folder / "test.json").read_text(encoding="utf-8"))
        document["data"] = document["data"][:articles]
        (root / "xquad" / folder.name).mkdir(parents=True)
        (root / "xquad" / folder.name / "test.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


@pytest.mark.slow
def test_lareqa_end_to_end_with_the_tiny_model(xtui, write_spec, tmp_path, home, shared_data):
    data = tmp_path / "data"
    _trimmed_data(data, shared_data)
    refused = xtui("run", write_spec(LAREQA_SPEC.format(data=data).replace("shots = [0]", "shots = [0, 2]"), "k.toml"))
    assert refused.returncode == 2 and "fewshot.shots" in refused.stderr
    run = xtui("run", write_spec(LAREQA_SPEC.format(data=data)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
    assert sorted(r["type"] for r in results) == ["evaluate", "evaluate", "target"]
    target = next(r for r in results if r["type"] == "target")
    assert target["train"]["steps"] == 4 and target["selection"]["strategy"] == "last checkpoint"
    evaluations = {r["language"]: r for r in results if r["type"] == "evaluate"}
    assert set(evaluations) == {"de", "en"}
    task = load_plugins().tasks["lareqa"]
    examples = load_examples(task, "de", "test", data)
    languages = {e["language"] for e in examples}
    assert len(languages) == 9 and examples[0]["language"] == "de"
    for result in evaluations.values():
        assert result["metric"] == "map@20" and result["evaluation"]["examples"] == len(examples)
        # every question has an answer in the pool (its own language's), so the full mAP is above 0; and
        # with fewer relevant candidates (one a language) than 20, mAP@20 counts a part of the same hits
        assert 0.0 < result["metrics"]["map"] and result["metrics"]["map@20"] <= result["metrics"]["map"]
