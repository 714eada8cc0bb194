"""Named language sets in a spec: ``languages = "xtreme-r"`` / ``"xtreme"`` besides ``"all"`` (spec
validation, plan expansion, what a dry run shows, a target outside the set, an unknown name), and XTREME-R
languages with no Hub copy (UD v2.7) said so in one line."""

from __future__ import annotations

import dataclasses

import pytest

from support.unit_fixtures import datasets_cache_with, registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan, language_sets
from xtui.spec import parse_spec
from xtui_xtreme import tasks as xt


def _with_sets(registry, **sets):
    """The registry with demo tasks given benchmark sets, e.g. ``demo_sentiment={"bench": ("de", "fr")}``."""
    tasks = dict(registry.tasks)
    for name, task_sets in sets.items():
        tasks[name] = dataclasses.replace(tasks[name], language_sets=task_sets)
    return dataclasses.replace(registry, tasks=tasks)


def _plan(registry, **target):
    data = spec_data(target={"max_steps": 2, **target}, fewshot={"shots": [0]})
    return build_plan(parse_spec(data, "t.toml"), registry, "t.toml")


def _languages(plan, task: str) -> set:
    return {s.grid.language for s in plan.stages.values() if s.type == "evaluate" and s.grid.task == task}


def test_the_builtin_sets_are_all_xtreme_and_xtreme_r(registry):
    assert language_sets(registry) == ["all", "xtreme", "xtreme-r"]


def test_a_set_means_each_targets_languages_in_that_benchmark(registry):
    registry = _with_sets(registry, demo_sentiment={"bench": ("de", "fr")}, demo_entities={"bench": ("nl",)})
    plan = _plan(registry, tasks=["demo_sentiment", "demo_entities"], languages="bench")
    assert _languages(plan, "demo_sentiment") == {"en", "de", "fr"}  # English: the training language, as always
    assert _languages(plan, "demo_entities") == {"en", "nl"}
    assert plan.languages == {"demo_sentiment": ("bench", ["de", "fr"]), "demo_entities": ("bench", ["nl"])}


def test_a_target_outside_the_set_is_left_out_among_several_and_an_error_alone(registry):
    registry = _with_sets(registry, demo_sentiment={"bench": ("de",)})
    plan = _plan(registry, tasks=["demo_sentiment", "demo_entities"], languages="bench")
    assert _languages(plan, "demo_entities") == set()
    assert "demo_entities is not part of 'bench' (its sets: all): left out" in plan.notes
    with pytest.raises(SpecError) as caught:
        _plan(registry, task="demo_entities", languages="bench")
    assert str(caught.value) == ("t.toml: field 'target.languages': task 'demo_entities' is not part of 'bench' "
                                 "(its sets: all; or a list of language codes)")


def test_an_unknown_set_is_one_line_listing_the_valid_names(registry):
    with pytest.raises(SpecError) as caught:
        _plan(registry, task="demo_sentiment", languages="xtreme-s")
    assert str(caught.value) == ("t.toml: field 'target.languages': unknown language set 'xtreme-s' (valid: all, xtreme, "
                                 "xtreme-r; or a list of language codes)")
    with pytest.raises(SpecError, match=r"field 'target.per_task.demo_entities.languages': unknown language set 'x'"):
        _plan(registry, tasks=["demo_sentiment", "demo_entities"], languages=["de"],
              per_task={"demo_entities": {"languages": "x"}})


def test_a_set_name_that_cannot_be_one_is_a_spec_error():
    with pytest.raises(SpecError, match="field 'target.languages': give a list of language codes, 'all' or the name of a "
                                        "benchmark's language set"):
        parse_spec(spec_data(target={"task": "demo_sentiment", "languages": "XTREME R"}), "t.toml")


def test_the_real_sets_expand_as_the_benchmarks_define_them(registry):
    tasks = registry.tasks
    assert tasks["xquad"].language_sets["xtreme-r"][-1] == "ro" and "ro" not in tasks["xquad"].language_sets["xtreme"]
    assert "xtreme-r" not in tasks["pawsx"].language_sets and "xtreme" not in tasks["xcopa"].language_sets
    assert set(tasks["panx"].language_sets["xtreme-r"]) - set(tasks["panx"].language_sets["xtreme"]) == set(
        xt.PANX_WIKIANN_LANGUAGES)


def test_ud_v27_languages_are_left_out_of_a_set_on_the_hub_saying_why(registry, monkeypatch, tmp_path):
    configs = [("google/xtreme", config) for config in xt.UDPOS_CONFIGS.values()]
    datasets_cache_with(monkeypatch, tmp_path, *configs)
    plan = _plan(registry, task="udpos", languages="xtreme-r")
    assert _languages(plan, "udpos") == set(xt.UDPOS_CONFIGS)
    assert ("udpos lt, pl, ro, uk, wo: no Hub copy xtui can load (local data only: `xtui tasks --json` says which, "
            "under local_only), so 'xtreme-r' languages leaves them out") in plan.notes
    with pytest.raises(SpecError) as caught:
        _plan(registry, task="udpos", languages=["lt"])
    assert str(caught.value).startswith(
        "t.toml: field 'target.languages': task 'udpos' has no lt test split on the Hub (it is local data: UD v2.7 "
        "treebanks lt_alksnis, lt_hse (LINDAT hdl 11234/1-3424)")
    assert "\n" not in str(caught.value)
