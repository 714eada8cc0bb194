"""Several targets in one spec (`target.tasks`, `languages = "all"`, `[target.per_task.X]`),
plan notes and the naive-size count (the shipped grids, planned by `xtui run --dry-run`:
tests/integration/test_multi_target.py)."""

from __future__ import annotations

import pytest

from conftest import REPO
from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan
from xtui.spec import parse_spec


def _plan(registry, **target):
    data = spec_data(intermediate={"tasks": ["none", "demo_nli"], "max_steps": 3},
                     target={"languages": ["de", "fr"], "max_steps": 3, **target}, fewshot={"shots": [0, 4], "shot_sets": 2})
    return build_plan(parse_spec(data, "t.toml"), registry, "t.toml")


def _spec_error(**target) -> str:
    with pytest.raises(SpecError) as caught:
        parse_spec(spec_data(target={"languages": ["de"], **target}), "t.toml")
    return str(caught.value)


def test_one_target_or_several_but_not_both():
    assert "give either 'task' (one target) or 'tasks' (several)" in _spec_error(task="demo_sentiment", tasks=["demo_entities"])
    assert "give either 'task'" in _spec_error()
    assert "per_task names 'demo_nli', which is not a target" in _spec_error(tasks=["demo_sentiment"], per_task={"demo_nli": {}})
    assert "field 'target.tasks': a task is listed twice" in _spec_error(tasks=["demo_sentiment", "demo_sentiment"])
    assert ("field 'target.languages': give a list of language codes, 'all' or the name of a benchmark's language set"
            in _spec_error(task="demo_sentiment", languages="Every one"))
    assert "unknown field 'target.per_task.demo_entities.lr'" in _spec_error(tasks=["demo_entities"], per_task={"demo_entities": {"lr": 1}})


def test_several_targets_share_intermediates_and_match_single_target_plans(registry):
    both = _plan(registry, tasks=["demo_sentiment", "demo_entities"])
    alone = _plan(registry, task="demo_sentiment")
    other = _plan(registry, task="demo_entities")
    assert set(both.stages) == set(alone.stages) | set(other.stages)  # a target's stages do not depend on its neighbours
    assert len([s for s in both.stages.values() if s.type == "intermediate"]) == 1
    assert {s.grid["task"] for s in both.stages.values() if s.type == "target"} == {"demo_sentiment", "demo_entities"}


def test_per_task_settings_apply_to_their_target_only(registry):
    plan = _plan(registry, tasks=["demo_sentiment", "demo_entities"],
                 per_task={"demo_entities": {"learning_rate": 3e-4, "epochs": 2.0, "languages": ["nl"]}})
    targets = {s.grid["task"]: s for s in plan.stages.values() if s.type == "target"}
    assert targets["demo_entities"].config["training"]["learning_rate"] == 3e-4
    assert targets["demo_entities"].config["training"]["epochs"] == 2.0
    assert targets["demo_entities"].config["training"]["max_steps"] is None  # epochs given: the shared max_steps no longer applies
    assert targets["demo_sentiment"].config["training"]["max_steps"] == 3
    languages = {(s.grid["task"], s.grid["language"]) for s in plan.stages.values() if s.type == "fewshot"}
    assert languages == {("demo_sentiment", "de"), ("demo_sentiment", "fr"), ("demo_entities", "nl")}


def test_all_languages_and_a_language_only_some_targets_have(registry):
    plan = _plan(registry, task="demo_sentiment", languages="all")
    task = registry.tasks["demo_sentiment"]
    assert {s.grid["language"] for s in plan.stages.values() if s.type == "evaluate"} == set(task.languages)
    with pytest.raises(SpecError, match=r"field 'target.per_task.demo_entities.languages': task 'demo_entities' has no language 'sw'"):
        _plan(registry, tasks=["demo_sentiment", "demo_entities"], per_task={"demo_entities": {"languages": ["sw"]}})
    with pytest.raises(SpecError, match="no target task has any of these languages"):
        _plan(registry, tasks=["demo_sentiment", "demo_entities"], languages=["sw"])


def test_naive_size_counts_every_result_as_its_own_chain(registry):
    plan = _plan(registry, task="demo_sentiment")
    # per intermediate choice: en + de + fr evaluations, 2 languages x 2 shot sets; none: 2-stage chains, demo_nli: 3
    leaves = 3 + 2 * 2
    assert plan.naive_size() == leaves * 2 + leaves * 3
    assert len(plan.stages) == 1 + 2 + 2 * leaves


JIANT_XTREME = {
    "xnli": (2, 4, 8, 256), "pawsx": (5, 4, 8, 256), "udpos": (10, 4, 8, 256), "panx": (10, 4, 8, 256),
    "xquad": (2, 4, 4, 384), "mlqa": (2, 4, 4, 384), "tydiqa": (2, 4, 4, 384),
}
"""(epochs, train batch, gradient accumulation, max length) per target as nyu-mll/jiant's XTREME scripts set
them (jiant/scripts/benchmarks/xtreme/subscripts/d_write_configs.sh and c_tokenize_and_cache.sh, commit
daa5a258e3af5e7503288de8401429eaf3f58e13); every trained target at learning rate 1e-5 (e_run_models.sh)."""


def test_the_paper_grid_states_the_jiant_xtreme_settings_with_their_source():
    from xtui.spec import load_spec

    spec, text = load_spec(REPO / "examples" / "paper.toml")
    settings = {s.task: s for s in spec.target.settings()}
    got = {task: (s.training["epochs"], s.training["batch_size"], s.training["gradient_accumulation"],
                  s.training["max_length"]) for task, s in settings.items() if task in JIANT_XTREME}
    assert got == JIANT_XTREME
    assert {s.training["learning_rate"] for s in settings.values()} == {1e-5}
    for task in ("bucc", "tatoeba"):  # xtreme_runconfig_writer.py: mean of layer 14; 512 tokens
        assert (settings[task].layer, settings[task].pooling, settings[task].training["max_length"]) == (14, "mean", 512)
    assert spec.target.languages == "xtreme"
    section = ""
    for line in text.splitlines():
        section = line if line.startswith("[") else section
        if section.startswith(("[intermediate]", "[target")) and "=" in line and not line.startswith(("tasks", "[")):
            assert "# [" in line or line.split("=")[0].strip() in ("sampling", "languages"), f"no source named: {line}"
