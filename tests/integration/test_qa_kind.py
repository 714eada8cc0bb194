"""The extractive-QA kind end to end with the tiny model (slow): SQuAD v1.1 -> MLQA de zero- and
few-shot, and squad_v1 -> XQuAD zero-shot (few-shot refused at plan time)."""

from __future__ import annotations

import json
import math

import pytest

MLQA_SPEC = """
name = "it-mlqa"
model = "tiny"
data_dir = "{data}"

[intermediate]
tasks = ["none"]

[target]
task = "mlqa"
languages = ["de"]
max_steps = 20
batch_size = 16
learning_rate = 3e-3
max_length = 128

[fewshot]
shots = [0, 4]
shot_sets = 1
steps = 2
batch_size = 4
"""


@pytest.mark.slow
def test_mlqa_target_zero_and_few_shot(xtui, write_spec, shared_data, home):
    """SQuAD v1.1 (shared sample) -> MLQA de, K = 0 and 4. XQuAD has no dev data to draw
    shots from, so few-shot QA runs on MLQA, whose de validation split is the shot pool."""
    spec = write_spec(MLQA_SPEC.format(data=shared_data))
    run = xtui("run", spec)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = {p.parent.name: json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")}
    assert sorted(r["type"] for r in results.values()) == ["evaluate", "fewshot", "target"]
    target = next(r for r in results.values() if r["type"] == "target")
    assert target["train"]["train_examples"] > 2002  # windows, from the 2,002 SQuAD questions
    assert target["selection"]["reason"] == "no English validation data"
    events = [json.loads(line) for line in (home / "stages" / target["hash"][:16] / "events.jsonl").read_text().splitlines()]
    losses = [e["loss"] for e in events if e["event"] == "step"]
    assert losses[0] < math.log(128) + 0.5 and losses[-1] < losses[0]  # it learns
    for result in results.values():
        if result["type"] in ("evaluate", "fewshot"):
            scores = result["metrics"]
            assert result["evaluation"] == {"split": "test", "language": "de", "examples": 206}
            assert 0.0 <= scores["exact_match"] <= scores["f1"] <= 1.0
            assert scores["em_f1_mean"] == pytest.approx((scores["exact_match"] + scores["f1"]) / 2)
    fewshot = next(r for r in results.values() if r["type"] == "fewshot")
    shots = [json.loads(line) for line in (home / "stages" / fewshot["hash"][:16] / "shots.jsonl").read_text().splitlines()]
    assert len(shots) == 4 and all(s["answers"]["text"] for s in shots) and fewshot["shot_split"] == "validation"
    assert "mlqa · EM / F1 (%) · K=4" in run.stdout  # the XTREME way: exact match and F1, per target language


XQUAD_SPEC = """
name = "it-xquad"
model = "tiny"
data_dir = "{data}"

[intermediate]
tasks = ["squad_v1"]
max_steps = 4
batch_size = 16
learning_rate = 1e-3
max_length = 384

[target]
task = "xquad"
languages = ["de"]
max_steps = 4
batch_size = 16
learning_rate = 1e-3
max_length = 384

[fewshot]
shots = [{shots}]
"""


@pytest.mark.slow
def test_squad_v1_to_xquad_zero_shot(xtui, write_spec, shared_data, home):
    """squad_v1 -> xquad at the paper's max_length 384 (fewest windows), evaluated on en and de;
    XQuAD refuses few-shot at plan time (it has no development data to draw shots from)."""
    refused = xtui("run", write_spec(XQUAD_SPEC.format(data=shared_data, shots="0, 4"), "fewshot.toml"), "--dry-run")
    assert refused.returncode != 0
    assert "xquad" in refused.stderr and "validation" in refused.stderr and "4-shot" in refused.stderr

    run = xtui("run", write_spec(XQUAD_SPEC.format(data=shared_data, shots="0")))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = [json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")]
    assert sorted(r["type"] for r in results) == ["evaluate", "evaluate", "intermediate", "target"]
    intermediate = next(r for r in results if r["type"] == "intermediate")
    assert intermediate["task"] == "squad_v1" and intermediate["train"]["train_examples"] >= 2002
    evaluations = {r["language"]: r for r in results if r["type"] == "evaluate"}
    assert set(evaluations) == {"en", "de"}  # English too: the local XQuAD sample has en/test.json
    assert all(r["evaluation"]["examples"] == 522 for r in evaluations.values())
    for result in evaluations.values():
        scores = result["metrics"]
        assert round(scores["exact_match"] * 522, 6).is_integer()  # a share of the 522 questions
        assert scores["exact_match"] <= scores["f1"] and scores["em_f1_mean"] == pytest.approx(
            (scores["exact_match"] + scores["f1"]) / 2)
