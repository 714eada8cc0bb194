"""Real stages through the real launch path: `xtui run` -> accelerate launch -> xtui.worker.

A tiny randomly initialised XLM-R (preset ``tiny``) on real samples from ../shared/data.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from support.results import saved_accuracy

pytestmark = pytest.mark.slow

XNLI_SPEC = """
name = "it-xnli"
model = "tiny"
seeds = [3]
data_dir = "{data}"

[intermediate]
tasks = ["none", "anli"]
max_steps = 8
batch_size = 16
learning_rate = 1e-3

[target]
task = "xnli"
languages = ["de"]
max_steps = 20
batch_size = 32
learning_rate = 1e-3
max_length = 64

[fewshot]
shots = [0, 6]
shot_sets = 2
steps = 3
batch_size = 6
learning_rate = 1e-4
"""


def _stage_results(home):
    return {p.parent.name: json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json")}


def test_classification_grid_runs_reuses_and_extends(xtui, write_spec, shared_data, home):
    spec = write_spec(XNLI_SPEC.format(data=shared_data))
    first = xtui("run", spec)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    results = _stage_results(home)
    # anli intermediate, 2 targets, 2 x (en + de evaluations), 2 x 2 de shot sets
    assert len(results) == 1 + 2 + 4 + 4
    types = sorted(r["type"] for r in results.values())
    assert types.count("fewshot") == 4 and types.count("evaluate") == 4 and types.count("target") == 2
    for result in results.values():
        assert result["versions"]["torch"] and result["device"] == "cpu"
        if result["type"] == "fewshot":
            assert len(result["shot_indices"]) == 6 and result["shot_split"] == "validation"
            labels = [json.loads(line)["label"] for line in (home / "stages" / result["hash"][:16] / "shots.jsonl").read_text().splitlines()]
            assert sorted(labels) == [0, 0, 1, 1, 2, 2]  # label-stratified
            assert result["train"]["steps"] == 3
        if result["type"] == "target":
            assert result["selection"]["strategy"] == "last checkpoint"  # the local xnli sample has no English validation
            assert (home / "stages" / result["hash"][:16] / "checkpoint" / "model.safetensors").is_file()
            assert (home / "stages" / result["hash"][:16] / "checkpoint" / "head.safetensors").is_file()
        if result["type"] in ("evaluate", "fewshot"):
            # the whole test file of the language (the samples: 500 English, 401 German examples), and
            # the stored accuracy is the share of the predictions it saved that equal their label
            assert result["evaluation"]["examples"] == {"en": 500, "de": 401}[result["language"]]
            assert result["metrics"]["accuracy"] == pytest.approx(saved_accuracy(home / "stages" / result["hash"][:16]))
    # the same shot sets for both intermediate choices (paired comparison)
    shot_sets = {}
    for result in results.values():
        if result["type"] == "fewshot":
            shot_sets.setdefault(result["grid"]["shot_set"], set()).add(tuple(result["shot_indices"]))
    assert all(len(v) == 1 for v in shot_sets.values()) and len(shot_sets) == 2
    assert "xnli · accuracy (%) · K=0" in first.stdout and "K=6" in first.stdout

    events = (home / "stages").glob("*/events.jsonl")
    step_events = [json.loads(l) for p in events for l in p.read_text().splitlines() if '"step"' in l]
    assert step_events and all({"loss", "lr", "examples_per_second", "step", "total"} <= e.keys() for e in step_events)

    # tidy rows
    exported = xtui("runs", "export", "latest", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {"experiment", "stage", "intermediate", "task", "language", "shots", "shot_set", "seed", "split", "metric", "value"} <= rows[0].keys()
    test_accuracy = [r for r in rows if r["split"] == "test" and r["metric"] == "accuracy"]
    assert len(test_accuracy) == 8
    assert {r["intermediate"] for r in test_accuracy} == {"none", "anli"}
    assert {r["shots"] for r in test_accuracy} == {"0", "6"}

    # a second run trains nothing
    mtimes = {p: p.stat().st_mtime_ns for p in (home / "stages").glob("*/result.json")}
    second = xtui("run", spec)
    assert second.returncode == 0, second.stderr
    assert "11 reused, 0 to run" in second.stdout
    assert mtimes == {p: p.stat().st_mtime_ns for p in (home / "stages").glob("*/result.json")}

    # adding a language reruns no intermediate or target stage
    extended = write_spec(XNLI_SPEC.format(data=shared_data).replace('languages = ["de"]', 'languages = ["de", "sw"]'), "ext.toml")
    dry = xtui("run", extended, "--dry-run", "--json")
    plan = json.loads(dry.stdout)
    todo = [s for s in plan["stages"] if not s["done"]]
    assert todo and {s["type"] for s in todo} == {"evaluate", "fewshot"} and {s["language"] for s in todo} == {"sw"}
    third = xtui("run", extended)
    assert third.returncode == 0, third.stderr
    assert len(_stage_results(home)) == 11 + 2 + 4

    listing = xtui("runs", "list", "--json")
    assert [r["status"] for r in json.loads(listing.stdout)] == ["done", "done", "done"]
    shown = xtui("runs", "show", "latest")
    assert shown.returncode == 0 and "sw" in shown.stdout


TAGGING_SPEC = """
name = "it-{task}"
model = "tiny"
data_dir = "{data}"

[intermediate]
tasks = ["none"]

[target]
task = "{task}"
languages = ["de"]
max_steps = 60
batch_size = 32
learning_rate = 3e-3
max_length = 96

[fewshot]
shots = [0, 5]
shot_sets = 1
steps = 2
batch_size = 5
"""


@pytest.mark.parametrize("task,metric", [("udpos", "f1"), ("panx", "f1")])
def test_tagging_target(xtui, write_spec, shared_data, home, task, metric):
    spec = write_spec(TAGGING_SPEC.format(task=task, data=shared_data))
    run = xtui("run", spec)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = _stage_results(home)
    target = next(r for r in results.values() if r["type"] == "target")
    # English validation exists for both: the target stage selected its checkpoint on it
    assert target["selection"]["strategy"] == "best English validation"
    assert target["selection"]["metric"] == metric
    assert target["train"]["final_loss"] < 1.9  # from ln(17)=2.8 / ln(7)=1.9 at random init
    evaluations = {r["language"]: r for r in results.values() if r["type"] == "evaluate"}
    assert set(evaluations) == {"de"}  # the local samples have no English test split
    if task == "udpos":
        # real learning: well above the majority tag (NOUN, about 17 % of English tokens)
        assert target["validation"]["accuracy"] > 0.3
    else:
        assert {"precision", "recall", "f1", "accuracy"} <= evaluations["de"]["metrics"].keys()
    assert any(r["type"] == "fewshot" for r in results.values())


RETRIEVAL_SPEC = """
name = "it-tatoeba"
model = "tiny"
data_dir = "{data}"

[intermediate]
tasks = ["none", "demo_nli"]
max_steps = 3

[target]
task = "tatoeba"
languages = ["de", "sw"]
max_length = 48

[fewshot]
shots = [0]
"""


def test_retrieval_target_evaluates_the_intermediate_encoder(xtui, write_spec, shared_data, home):
    refused = xtui("run", write_spec(RETRIEVAL_SPEC.format(data=shared_data).replace("shots = [0]", "shots = [0, 4]"), "k.toml"))
    assert refused.returncode == 2 and "retrieval task without training" in refused.stderr
    run = xtui("run", write_spec(RETRIEVAL_SPEC.format(data=shared_data)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = list(_stage_results(home).values())
    assert sorted(r["type"] for r in results) == ["evaluate"] * 4 + ["intermediate"]  # no target stage
    evaluations = [r for r in results if r["type"] == "evaluate"]
    assert {(r["grid"]["intermediate"], r["language"]) for r in evaluations} == {
        ("none", "de"), ("none", "sw"), ("demo_nli", "de"), ("demo_nli", "sw")}
    for r in evaluations:
        metrics = r["metrics"]
        # the headline is XTREME's direction: English queries the other language
        assert metrics["accuracy"] == metrics["accuracy_target_to_source"] and "accuracy_source_to_target" in metrics
        assert r["scorer"]["name"] == "tatoeba" and r["scorer"]["version"]
        assert r["evaluation"]["examples"] == (1000 if r["language"] == "de" else 390)
    stages = {json.loads(p.read_text())["hash"]: json.loads(p.read_text()) for p in (home / "stages").glob("*/stage.json")}
    intermediate = next(h for h, s in stages.items() if s["type"] == "intermediate")
    assert {s["parent"] for s in stages.values() if s["type"] == "evaluate"} == {None, intermediate}
