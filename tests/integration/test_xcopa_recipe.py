"""XCOPA's recipe through the CLI: the dry run shows SocialIQA then COPA, and a real target stage trains
both phases (the planning: tests/unit/test_xcopa_recipe.py)."""

from __future__ import annotations

import json

import pytest

from support.data_folders import xcopa_data  # noqa: F401  (a fixture)

SPEC = """
name = "x"
model = "tiny"
data_dir = "{data}"
[target]
task = "xcopa"
languages = ["it"]
max_steps = 3
{training}[fewshot]
shots = [0]
"""
TRAINING = "batch_size = 2\nlearning_rate = 1e-3\nmax_length = 48\n"


def test_the_dry_run_shows_both_phases(xtui, write_spec, xcopa_data):
    spec = write_spec(SPEC.format(data=xcopa_data, training=""))
    shown = xtui("run", spec, "--dry-run")
    assert shown.returncode == 0, shown.stderr
    assert "│ siqa → xcopa │" in shown.stdout  # the target stage's task cell
    assert "note: xcopa trains on siqa, then on its own English data, in one target stage (recipe 'siqa+copa'" in shown.stderr
    planned = json.loads(xtui("run", spec, "--dry-run", "--json").stdout)
    target = next(s for s in planned["stages"] if s["type"] == "target")
    assert target["phases"] == ["siqa", "xcopa"]
    alone = json.loads(xtui("run", spec, "--dry-run", "--json", "--set", 'target.per_task.xcopa.train="copa"').stdout)
    assert "phases" not in next(s for s in alone["stages"] if s["type"] == "target")
    listed = {t["name"]: t for t in json.loads(xtui("tasks", "--json").stdout)}
    assert listed["xcopa"]["recipes"] == {"siqa+copa": ["siqa", "xcopa"], "copa": ["xcopa"]}


@pytest.mark.slow
def test_the_target_stage_trains_siqa_then_copa(xtui, write_spec, xcopa_data, home):
    """One target stage, two phases on one model: 3 steps of SocialIQA (2 examples, 3 choices, selected on
    its 2 validation examples), then 3 of English COPA (400 examples, 2 choices, selected on COPA dev)."""
    spec = write_spec(SPEC.format(data=xcopa_data, training=TRAINING))
    run = xtui("run", spec)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "1/2: train on siqa" in run.stdout and "2/2: train on xcopa" in run.stdout  # the live lines say it too
    results = {r["type"]: r for r in (json.loads(p.read_text()) for p in (home / "stages").glob("*/result.json"))}
    target = results["target"]
    (siqa,) = target["phases"]
    assert siqa["task"] == "siqa" and siqa["train"]["steps"] == 3 and siqa["train"]["train_examples"] == 2
    assert siqa["selection"]["strategy"] == "best English validation" and 0 <= siqa["validation"]["accuracy"] <= 1
    assert target["train"]["train_examples"] == 400 and target["train"]["steps"] == 3
    assert target["selection"]["strategy"] == "best English validation"
    events = [json.loads(line) for line in (home / "stages" / target["hash"][:16] / "events.jsonl").read_text().splitlines()]
    phases = [(e["phase"], e["phases"], e["task"]) for e in events if e["event"] == "phase"]
    assert phases == [(1, 2, "siqa"), (2, 2, "xcopa")]
    trainings = [e["examples"] for e in events if e["event"] == "train"]
    assert trainings == [2, 400]
    kinds = [e["event"] for e in events]
    # each phase trains (its steps) after its phase event, SocialIQA's before COPA's
    first, second = kinds.index("phase"), len(kinds) - 1 - kinds[::-1].index("phase")
    assert "step" in kinds[first:second] and "step" in kinds[second:]
    assert not (home / "stages" / target["hash"][:16] / "phases").exists()
    assert 0 <= results["evaluate"]["metrics"]["accuracy"] <= 1
