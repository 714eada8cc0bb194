"""XCOPA as XTREME-R trains it: SocialIQA, then English COPA, in one target stage (the recipe
``siqa+copa``, the default), or English COPA alone (``copa``), chosen by ``[target.per_task.xcopa] train``
and part of the stage hash; the dry run shows the phases, a real run trains both (its events say so)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from support.data_folders import xcopa_data  # noqa: F401  (a fixture)
from support.unit_fixtures import registry  # noqa: F401  (a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan
from xtui.spec import parse_spec
from xtui.stage import StageConfig
from xtui.tasks import validate_task

def _spec(data: Path, train=None, **target) -> dict:
    per_task = {"per_task": {"xcopa": {"train": train}}} if train is not None else {}
    return {"name": "x", "model": "tiny", "data_dir": str(data),
            "target": {"task": "xcopa", "languages": ["it"], "max_steps": 3, **per_task, **target}}


def _target(plan):
    return next(s for s in plan.stages.values() if s.type == "target")


def test_xcopa_trains_on_siqa_then_copa_by_default_and_copa_alone_when_asked(registry, xcopa_data):
    default = build_plan(parse_spec(_spec(xcopa_data), "x.toml"), registry, "x.toml")
    stage = _target(default)
    assert [m.task for m in stage.phases] == ["siqa"] and stage.task == "xcopa"
    siqa = registry.tasks["siqa"]
    assert stage.phases[0].data == {"train": siqa.fingerprint("en", "train", xcopa_data),
                                    "validation": siqa.fingerprint("en", "validation", xcopa_data)}
    assert stage.phases[0].class_names == ("answerA", "answerB", "answerC")
    assert any("xcopa trains on siqa, then on its own English data" in note for note in default.notes)
    explicit = build_plan(parse_spec(_spec(xcopa_data, "siqa+copa"), "x.toml"), registry, "x.toml")
    assert _target(explicit).hash == stage.hash
    alone = _target(build_plan(parse_spec(_spec(xcopa_data, "copa"), "x.toml"), registry, "x.toml"))
    assert alone.phases is None and "phases" not in alone.content()
    assert alone.hash != stage.hash and alone.data == stage.data  # the same COPA data, another stage
    # the stage file carries the phases and reads back against its hash
    assert StageConfig.from_json(json.loads(json.dumps(stage.to_json()))) == stage


def test_the_recipe_field_is_checked_at_plan_time(registry, xcopa_data):
    with pytest.raises(SpecError, match=r"^x.toml: field 'target.per_task.xcopa.train': 'copy' is not a way to train "
                                        r"xcopa \(valid: 'siqa\+copa', 'copa'\)$"):
        build_plan(parse_spec(_spec(xcopa_data, "copy"), "x.toml"), registry, "x.toml")
    sentiment = {"name": "x", "model": "tiny", "target": {"task": "demo_sentiment", "languages": ["de"],
                                                          "per_task": {"demo_sentiment": {"train": "copa"}}}}
    with pytest.raises(SpecError, match=r"field 'target.per_task.demo_sentiment.train': task 'demo_sentiment' trains on "
                                        r"its own data only; train chooses a recipe of xcopa"):
        build_plan(parse_spec(sentiment, "x.toml"), registry, "x.toml")
    with pytest.raises(SpecError, match=r"field 'target.per_task.xcopa.train': give the name of one of the task's recipes"):
        parse_spec(_spec(xcopa_data, "  "), "x.toml")
    with pytest.raises(SpecError, match=r"field 'target.per_task.xcopa.train': Input should be a valid string"):
        parse_spec(_spec(xcopa_data, 2), "x.toml")


def test_a_recipe_must_train_tasks_of_the_target_kind_that_exist(registry, xcopa_data, monkeypatch):
    xcopa = registry.tasks["xcopa"]
    monkeypatch.setitem(registry.tasks, "xcopa", replace(xcopa, recipes={"nli": ("xnli", "xcopa")}))
    with pytest.raises(SpecError, match=r"recipe 'nli' of xcopa trains 'xnli' first, but it is classification, xcopa is "
                                        r"multiple_choice"):
        build_plan(parse_spec(_spec(xcopa_data), "x.toml"), registry, "x.toml")
    monkeypatch.setitem(registry.tasks, "xcopa", replace(xcopa, recipes={"ghost": ("ghost", "xcopa")}))
    with pytest.raises(SpecError, match=r"recipe 'ghost' of xcopa trains 'ghost' first, but no plugin registers it"):
        build_plan(parse_spec(_spec(xcopa_data), "x.toml"), registry, "x.toml")
    for recipes in ({"x": ("siqa",)}, {"x": ()}, {"x": ("xcopa", "xcopa")}, {"x": ["siqa", "xcopa"]}):
        assert validate_task(replace(xcopa, recipes=recipes), ["multiple_choice"]) == [
            "task 'xcopa': recipes must map names to tuples of distinct task names ending with 'xcopa'"]
    assert validate_task(xcopa, ["multiple_choice"]) == []
