"""Multi-task intermediate training: sampling policies, the batch sampler and the plan (mixtures
trained end to end: tests/integration/test_mixture.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from support.unit_fixtures import datasets_cache_with, registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.batching import MixtureBatchSampler, mixture_weights
from xtui.errors import SpecError
from xtui.plan import build_plan
from xtui.spec import parse_spec

# --------------------------------------------------------------------------- sampling policies


def test_policies_give_known_weights():
    assert mixture_weights([100, 400], "proportional") == pytest.approx([0.2, 0.8])
    assert mixture_weights([100, 400], "temperature", 2.0) == pytest.approx([1 / 3, 2 / 3])  # sqrt: 10 : 20
    assert mixture_weights([100, 400], "temperature", 1.0) == pytest.approx([0.2, 0.8])
    assert mixture_weights([100, 400], "uniform") == pytest.approx([0.5, 0.5])
    assert mixture_weights([0, 9, 1], "uniform") == pytest.approx([0, 0.5, 0.5])  # an empty task is never drawn
    with pytest.raises(ValueError, match="unknown sampling policy"):
        mixture_weights([1, 2], "round-robin")
    with pytest.raises(ValueError, match="empty"):
        mixture_weights([0, 0], "proportional")


def _sampler(lengths, weights, batch_size=4, seed=7):
    sampler = MixtureBatchSampler(lengths, batch_size, weights)
    sampler.epoch_seed = seed
    return sampler


def test_every_batch_holds_one_task_and_the_order_depends_only_on_the_seed():
    lengths = [[5] * 40, [9] * 8, [3] * 20]
    sampler = _sampler(lengths, [0.5, 0.25, 0.25])
    batches = sampler.batches()
    assert len(batches) == len(sampler) == 10 + 2 + 5
    ranges = [range(0, 40), range(40, 48), range(48, 68)]
    for batch in batches:
        owners = {next(t for t, r in enumerate(ranges) if i in r) for i in batch}
        assert len(owners) == 1
    assert batches == _sampler(lengths, [0.5, 0.25, 0.25]).batches()
    assert batches != _sampler(lengths, [0.5, 0.25, 0.25], seed=8).batches()


def test_draws_follow_the_weights_and_a_small_task_reshuffles_when_it_runs_out():
    lengths = [[4] * 3000, [4] * 40]
    sampler = _sampler(lengths, [0.5, 0.5], batch_size=10)  # uniform: the 4 batches of task 1 are drawn ~152 times
    batches = sampler.batches()
    owners = Counter(0 if b[0] < 3000 else 1 for b in batches)
    assert len(batches) == 304 and abs(owners[1] / len(batches) - 0.5) < 0.08
    small = Counter(i for b in batches if b[0] >= 3000 for i in b)
    assert set(small) == set(range(3000, 3040)) and min(small.values()) >= owners[1] * 10 // 40 - 1
    # proportional: about one pass over each task per epoch
    proportional = _sampler(lengths, mixture_weights([3000, 40], "proportional"), batch_size=10).batches()
    assert Counter(0 if b[0] < 3000 else 1 for b in proportional)[1] < 15


# --------------------------------------------------------------------------- the plan


def _grid(**intermediate):
    return spec_data(intermediate={"tasks": ["none", "demo_nli", ["demo_nli", "mnli"]], "max_steps": 3, **intermediate},
                     target={"task": "demo_sentiment", "languages": ["de"], "max_steps": 3}, fewshot={"shots": [0, 4], "shot_sets": 2})


def _plan(registry, data):
    return build_plan(parse_spec(data, "m.toml"), registry, "m.toml")


def test_a_mixture_is_one_intermediate_stage_with_a_member_per_task(registry, monkeypatch, tmp_path):
    datasets_cache_with(monkeypatch, tmp_path, ("nyu-mll/glue", "mnli"))
    plan = _plan(registry, _grid())
    intermediates = [s for s in plan.stages.values() if s.type == "intermediate"]
    mixture = next(s for s in intermediates if s.config.get("mixture"))
    assert len(intermediates) == 2 and mixture.grid["intermediate"] == "demo_nli+mnli"
    assert [m["task"] for m in mixture.config["mixture"]["tasks"]] == ["demo_nli", "mnli"]
    assert mixture.config["mixture"]["sampling"] == "proportional" and mixture.config["mixture"]["temperature"] is None
    assert all(m["data"]["train"] for m in mixture.config["mixture"]["tasks"])
    children = plan.children(mixture.hash)
    assert [c.type for c in children] == ["target"] and children[0].grid["intermediate"] == "demo_nli+mnli"
    assert {s.grid["intermediate"] for s in plan.stages.values() if s.type == "fewshot"} == {"none", "demo_nli", "demo_nli+mnli"}
    assert mixture.describe() == "intermediate demo_nli+mnli seed 1"


def test_the_policy_is_part_of_a_mixture_hash_only(registry, monkeypatch, tmp_path):
    datasets_cache_with(monkeypatch, tmp_path, ("nyu-mll/glue", "mnli"))
    base = _plan(registry, _grid())
    uniform = _plan(registry, _grid(sampling="uniform"))
    hot = _plan(registry, _grid(sampling="temperature", temperature=3.0))
    hotter = _plan(registry, _grid(sampling="temperature", temperature=5.0))
    single = {h for h, s in base.stages.items() if s.grid["intermediate"] != "demo_nli+mnli"}
    for other in (uniform, hot, hotter):
        assert single <= set(other.stages)  # none / demo_nli branches untouched: reused across policies
        assert len(set(other.stages) - set(base.stages)) == len(base.stages) - len(single)
    assert set(hot.stages) != set(hotter.stages)
    assert _plan(registry, _grid(temperature=9.0)).stages.keys() == base.stages.keys()  # T matters only for 'temperature'


def test_bad_mixtures_name_their_field(registry):
    with pytest.raises(SpecError, match=r"intermediate.tasks\[2\]': a mixture lists a task twice"):
        _plan(registry, _grid(tasks=["none", "demo_nli", ["mnli", "mnli"]]))
    with pytest.raises(SpecError, match=r"intermediate.sampling': must be one of proportional, temperature, uniform \(got 'random'\)"):
        _plan(registry, _grid(sampling="random"))
