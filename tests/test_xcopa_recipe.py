"""XCOPA as XTREME-R trains it: SocialIQA, then English COPA, in one target stage (the recipe
``siqa+copa``, the default), or English COPA alone (``copa``), chosen by ``[target.per_task.xcopa] train``
and part of the stage hash; the dry run shows the phases, a real run trains both (its events say so)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from unit_fixtures import registry  # noqa: F401  (a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan
from xtui.spec import parse_spec
from xtui.stage import StageConfig
from xtui.tasks import validate_task

SIQA = Path(__file__).parent / "data" / "siqa"


@pytest.fixture
def data(tmp_path, shared_data) -> Path:
    """Real English COPA + XCOPA (../shared/data) and the four real SocialIQA records (tests/data/siqa)."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "xcopa").symlink_to(shared_data / "xcopa")
    (folder / "siqa").symlink_to(SIQA)
    return folder


def _spec(data: Path, train=None, **target) -> dict:
    per_task = {"per_task": {"xcopa": {"train": train}}} if train is not None else {}
    return {"name": "x", "model": "tiny", "data_dir": str(data),
            "target": {"task": "xcopa", "languages": ["it"], "max_steps": 3, **per_task, **target}}


def _target(plan):
    return next(s for s in plan.stages.values() if s.type == "target")


def test_xcopa_trains_on_siqa_then_copa_by_default_and_copa_alone_when_asked(registry, data):
    default = build_plan(parse_spec(_spec(data), "x.toml"), registry, "x.toml")
    stage = _target(default)
    assert [m.task for m in stage.phases] == ["siqa"] and stage.task == "xcopa"
    siqa = registry.tasks["siqa"]
    assert stage.phases[0].data == {"train": siqa.fingerprint("en", "train", data),
                                    "validation": siqa.fingerprint("en", "validation", data)}
    assert stage.phases[0].class_names == ("answerA", "answerB", "answerC")
    assert any("xcopa trains on siqa, then on its own English data" in note for note in default.notes)
    explicit = build_plan(parse_spec(_spec(data, "siqa+copa"), "x.toml"), registry, "x.toml")
    assert _target(explicit).hash == stage.hash
    alone = _target(build_plan(parse_spec(_spec(data, "copa"), "x.toml"), registry, "x.toml"))
    assert alone.phases is None and "phases" not in alone.content()
    assert alone.hash != stage.hash and alone.data == stage.data  # the same COPA data, another stage
    # the stage file carries the phases and reads back against its hash
    assert StageConfig.from_json(json.loads(json.dumps(stage.to_json()))) == stage


def test_the_recipe_field_is_checked_at_plan_time(registry, data):
    with pytest.raises(SpecError, match=r"^x.toml: field 'target.per_task.xcopa.train': 'copy' is not a way to train "
                                        r"xcopa \(valid: 'siqa\+copa', 'copa'\)$"):
        build_plan(parse_spec(_spec(data, "copy"), "x.toml"), registry, "x.toml")
    sentiment = {"name": "x", "model": "tiny", "target": {"task": "demo_sentiment", "languages": ["de"],
                                                          "per_task": {"demo_sentiment": {"train": "copa"}}}}
    with pytest.raises(SpecError, match=r"field 'target.per_task.demo_sentiment.train': task 'demo_sentiment' trains on "
                                        r"its own data only; train chooses a recipe of xcopa"):
        build_plan(parse_spec(sentiment, "x.toml"), registry, "x.toml")
    with pytest.raises(SpecError, match=r"field 'target.per_task.xcopa.train': give the name of one of the task's recipes"):
        parse_spec(_spec(data, "  "), "x.toml")
    with pytest.raises(SpecError, match=r"field 'target.per_task.xcopa.train': Input should be a valid string"):
        parse_spec(_spec(data, 2), "x.toml")


def test_a_recipe_must_train_tasks_of_the_target_kind_that_exist(registry, data, monkeypatch):
    xcopa = registry.tasks["xcopa"]
    monkeypatch.setitem(registry.tasks, "xcopa", replace(xcopa, recipes={"nli": ("xnli", "xcopa")}))
    with pytest.raises(SpecError, match=r"recipe 'nli' of xcopa trains 'xnli' first, but it is classification, xcopa is "
                                        r"multiple_choice"):
        build_plan(parse_spec(_spec(data), "x.toml"), registry, "x.toml")
    monkeypatch.setitem(registry.tasks, "xcopa", replace(xcopa, recipes={"ghost": ("ghost", "xcopa")}))
    with pytest.raises(SpecError, match=r"recipe 'ghost' of xcopa trains 'ghost' first, but no plugin registers it"):
        build_plan(parse_spec(_spec(data), "x.toml"), registry, "x.toml")
    for recipes in ({"x": ("siqa",)}, {"x": ()}, {"x": ("xcopa", "xcopa")}, {"x": ["siqa", "xcopa"]}):
        assert validate_task(replace(xcopa, recipes=recipes), ["multiple_choice"]) == [
            "task 'xcopa': recipes must map names to tuples of distinct task names ending with 'xcopa'"]
    assert validate_task(xcopa, ["multiple_choice"]) == []


def test_the_dry_run_shows_both_phases(xtui, write_spec, data):
    spec = write_spec(f"""
    name = "x"
    model = "tiny"
    data_dir = "{data}"
    [target]
    task = "xcopa"
    languages = ["it"]
    max_steps = 3
    [fewshot]
    shots = [0]
    """)
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
def test_the_target_stage_trains_siqa_then_copa(xtui, write_spec, data, home):
    """One target stage, two phases on one model: 3 steps of SocialIQA (2 examples, 3 choices, selected on
    its 2 validation examples), then 3 of English COPA (400 examples, 2 choices, selected on COPA dev)."""
    spec = write_spec(f"""
    name = "x"
    model = "tiny"
    data_dir = "{data}"
    [target]
    task = "xcopa"
    languages = ["it"]
    max_steps = 3
    batch_size = 2
    learning_rate = 1e-3
    max_length = 48
    [fewshot]
    shots = [0]
    """)
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
