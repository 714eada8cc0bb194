"""The plan: stage counts, content hashes, sharing, paired shot sets and field-naming errors.

Uses the real plugin registry and the synthetic demo tasks (no data folder needed); the
last tests use the real XNLI samples in ../shared/data and skip when they are absent.
"""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from dataclasses import replace

import pytest

from conftest import TESTS
from support.unit_fixtures import datasets_cache_with, registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.errors import SpecError
from xtui.plan import build_plan, shot_seed
from xtui.stage import StageConfig, stage_hash
from xtui.plugins import Registry
from xtui.spec import parse_spec
from xtui.tasks import HubRef, Task

SOURCE = "grid.toml"


def grid(**changes) -> dict:
    """intermediate [none, demo_nli] x languages [de, fr] x shots [0, 4] x 2 shot sets x seeds [1, 2]."""
    data = spec_data(
        seeds=[1, 2],
        intermediate={"tasks": ["none", "demo_nli"], "max_steps": 3},
        target={"task": "demo_sentiment", "languages": ["de", "fr"], "max_steps": 3},
        fewshot={"shots": [0, 4], "shot_sets": 2},
    )
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return data


def plan_of(registry, data: dict):
    return build_plan(parse_spec(data, SOURCE), registry, SOURCE)


def hashes(plan, *types) -> set:
    return {h for h, s in plan.stages.items() if not types or s.type in types}


def plan_error(registry, data: dict) -> str:
    with pytest.raises(SpecError) as caught:
        plan_of(registry, data)
    message = str(caught.value)
    assert "\n" not in message, message
    assert message.startswith(f"{SOURCE}: "), message
    return message


# --------------------------------------------------------------------------- shape

def test_grid_stage_counts(registry):
    plan = plan_of(registry, grid())
    counts = Counter(s.type for s in plan.stages.values())
    seeds, intermediates, languages, sets = 2, 2, 2, 2
    assert counts["intermediate"] == 1 * seeds  # 'none' has no intermediate stage
    assert counts["target"] == intermediates * seeds
    assert counts["evaluate"] == intermediates * seeds * (languages + 1)  # + en, added automatically
    assert counts["fewshot"] == intermediates * seeds * languages * 1 * sets  # one K > 0
    assert len(plan.stages) == 2 + 4 + 12 + 16
    assert plan.requested == len(plan.stages)


def test_shot_sets_and_ks_multiply_fewshot_stages(registry):
    plan = plan_of(registry, grid(fewshot__shots=[0, 2, 8], fewshot__shot_sets=3, seeds=[1]))
    counts = Counter(s.type for s in plan.stages.values())
    assert counts["fewshot"] == 2 * 2 * 2 * 3  # intermediates x languages x K>0 x shot sets
    assert counts["evaluate"] == 2 * 3


def test_without_k0_only_english_is_evaluated_zero_shot(registry):
    plan = plan_of(registry, grid(fewshot__shots=[4], seeds=[1]))
    evaluated = {(s.grid["intermediate"], s.grid["language"]) for s in plan.stages.values() if s.type == "evaluate"}
    assert evaluated == {("none", "en"), ("demo_nli", "en")}


def test_english_listed_as_target_language_is_evaluated_once_and_never_few_shot(registry):
    plan = plan_of(registry, grid(target__languages=["en", "de"], seeds=[1]))
    english = [s for s in plan.stages.values() if s.grid.get("language") == "en"]
    assert sorted(s.type for s in english) == ["evaluate", "evaluate"]  # one per intermediate


def test_dag_is_topological_and_well_formed(registry):
    plan = plan_of(registry, grid())
    seen = set()
    for stage in plan.order():
        assert stage.hash == stage_hash(stage.config)
        assert stage.parent is None or stage.parent in seen, "parents come first"
        seen.add(stage.hash)
        parent = plan.stages[stage.parent] if stage.parent else None
        if stage.type == "intermediate":
            assert parent is None and stage.grid["task"] == "demo_nli"
        elif stage.type == "target":
            assert (parent is None) == (stage.grid["intermediate"] == "none")
            assert parent is None or parent.type == "intermediate"
        else:
            assert parent.type == "target"
            assert parent.grid["intermediate"] == stage.grid["intermediate"]
            assert parent.grid["seed"] == stage.grid["seed"]
    target = next(s for s in plan.stages.values() if s.type == "target" and s.grid["intermediate"] == "none")
    children = plan.children(target.hash)
    assert len(children) == 3 + 2 * 2  # en/de/fr evaluated + 2 languages x 2 shot sets
    fewshot = next(s for s in children if s.type == "fewshot")
    assert fewshot.config["shots"] == 4 and fewshot.config["training"]["max_steps"] == 10
    assert fewshot.config["shot_pool"]["split"] == "validation"
    assert fewshot.config["evaluation"]["split"] == "test"


# --------------------------------------------------------------------------- hashes

def test_hashes_are_deterministic(registry):
    first, second = plan_of(registry, grid()), plan_of(registry, grid())
    assert list(first.stages) == list(second.stages)
    assert all(first.stages[h].config == second.stages[h].config for h in first.stages)


def test_hash_ignores_key_order_grid_and_data_dir():
    config = {"type": "target", "seed": 1, "training": {"learning_rate": 1e-5, "batch_size": 8}}
    reordered = {"training": {"batch_size": 8, "learning_rate": 1e-5}, "seed": 1, "type": "target"}
    assert stage_hash(config) == stage_hash(reordered)
    content = {"type": "target", "parent": None, "model": {"name": "tiny"}, "seed": 1, "task": "xnli", "language": "en",
               "kind": {"name": "classification", "target": "m:K", "version": "1"}, "class_names": ["a", "b"]}
    one = StageConfig.build(content, {"intermediate": "none", "task": "xnli", "seed": 1}, data_dir="/here")
    other = StageConfig.build(content, {"intermediate": "x", "task": "y", "seed": 1}, data_dir="/elsewhere",
                              run={"checkpoint_every_minutes": 1})
    assert one.hash == other.hash, "the grid, the data folder and the run settings are not hashed"
    assert one.hash != StageConfig.build({**content, "seed": 2}, {"intermediate": "none", "task": "xnli", "seed": 2}).hash


def test_identical_stages_are_shared_across_plans(registry):
    full = plan_of(registry, grid())
    one_seed = plan_of(registry, grid(seeds=[2]))
    baseline_only = plan_of(registry, grid(intermediate__tasks=["none"]))
    fewer_sets = plan_of(registry, grid(fewshot__shot_sets=1))
    more_sets = plan_of(registry, grid(fewshot__shot_sets=3))
    assert hashes(one_seed) < hashes(full)
    assert hashes(baseline_only) < hashes(full)
    assert hashes(fewer_sets) < hashes(full) < hashes(more_sets)
    assert len(hashes(more_sets) - hashes(full)) == 2 * 2 * 2  # the third set: 2 intermediates x 2 seeds x 2 languages


def test_seeds_do_not_share_stages(registry):
    plan = plan_of(registry, grid())
    by_seed = defaultdict(set)
    for stage in plan.stages.values():
        by_seed[stage.grid["seed"]].add(stage.hash)
    assert len(by_seed[1]) == len(by_seed[2]) == 17
    assert not by_seed[1] & by_seed[2]


def test_target_learning_rate_changes_target_and_descendants_only(registry):
    before = plan_of(registry, grid())
    after = plan_of(registry, grid(target__learning_rate=5e-5))
    assert hashes(before, "intermediate") == hashes(after, "intermediate")
    for kind in ("target", "evaluate", "fewshot"):
        assert not hashes(before, kind) & hashes(after, kind), kind
    assert len(after.stages) == len(before.stages)


def test_intermediate_learning_rate_leaves_the_baseline_chain(registry):
    before = plan_of(registry, grid())
    after = plan_of(registry, grid(intermediate__learning_rate=3e-5))
    baseline = {h for h, s in before.stages.items() if s.grid["intermediate"] == "none"}
    changed = hashes(before) - hashes(after)
    assert baseline <= hashes(after)
    assert changed == hashes(before) - baseline


def test_adding_a_language_adds_stages_only(registry):
    before = plan_of(registry, grid())
    after = plan_of(registry, grid(target__languages=["de", "fr", "nl"]))
    assert hashes(before) < hashes(after)
    for kind in ("intermediate", "target"):
        assert hashes(before, kind) == hashes(after, kind)
    added = [after.stages[h] for h in hashes(after) - hashes(before)]
    assert {s.grid["language"] for s in added} == {"nl"}
    assert len(added) == 2 * 2 * (1 + 2)  # intermediates x seeds x (K=0 + 2 shot sets)


def test_fewshot_steps_change_only_fewshot_hashes(registry):
    before = plan_of(registry, grid())
    after = plan_of(registry, grid(fewshot__steps=25))
    for kind in ("intermediate", "target", "evaluate"):
        assert hashes(before, kind) == hashes(after, kind), kind
    assert not hashes(before, "fewshot") & hashes(after, "fewshot")
    assert len(hashes(after, "fewshot")) == len(hashes(before, "fewshot"))


def test_shot_sets_are_paired_across_intermediates_and_seeds(registry):
    plan = plan_of(registry, grid(fewshot__shots=[0, 4, 8]))
    seeds_of = defaultdict(set)
    for stage in plan.stages.values():
        if stage.type == "fewshot":
            key = (stage.grid["language"], stage.config["shots"], stage.config["shot_set"])
            seeds_of[key].add(stage.config["shot_seed"])
            assert stage.config["shot_seed"] == shot_seed("demo_sentiment", *key)
    assert len(seeds_of) == 2 * 2 * 2  # languages x K x sets
    assert all(len(s) == 1 for s in seeds_of.values()), "every intermediate and seed sees the same shot set"
    distinct = {next(iter(s)) for s in seeds_of.values()}
    assert len(distinct) == len(seeds_of), "different (language, K, set) draw different sets"


# --------------------------------------------------------------------------- errors

def test_unknown_target_task(registry):
    message = plan_error(registry, grid(target__task="nope"))
    assert "field 'target.task'" in message and "unknown task 'nope'" in message
    assert "demo_sentiment" in message and "xnli" in message


def test_unknown_intermediate_task(registry):
    message = plan_error(registry, grid(intermediate__tasks=["none", "nope"]))
    assert "field 'intermediate.tasks[1]'" in message and "unknown task 'nope'" in message


def test_language_not_in_task(registry):
    message = plan_error(registry, grid(target__languages=["de", "sw"]))
    assert "field 'target.languages'" in message and "no language 'sw'" in message
    assert "de" in message.split("valid:", 1)[1]


def test_intermediate_only_task_as_target(registry):
    message = plan_error(registry, grid(target__task="demo_nli"))
    assert "field 'target.task'" in message and "'demo_nli'" in message
    valid = message.split("valid:", 1)[1]
    assert "demo_sentiment" in valid and "demo_nli" not in valid


def test_target_only_task_as_intermediate(registry):
    message = plan_error(registry, grid(intermediate__tasks=["none", "xnli"]))
    assert "field 'intermediate.tasks[1]'" in message and "'xnli'" in message
    assert "demo_nli" in message.split("valid:", 1)[1]


def test_none_as_target(registry):
    message = plan_error(registry, grid(target__task="none"))
    assert "field 'target.task'" in message and "only valid in intermediate.tasks" in message


def test_mixture_members_must_be_intermediate_tasks_named_by_their_field(registry):
    message = plan_error(registry, grid(intermediate__tasks=["none", ["demo_nli", "xnli"]]))
    assert "field 'intermediate.tasks[1][1]'" in message and "cannot be an intermediate task" in message


def test_missing_local_model_folder(registry):
    message = plan_error(registry, grid(model="./no-such-model"))
    assert "field 'model'" in message


def test_missing_data_dir(registry, tmp_path):
    message = plan_error(registry, grid(data_dir=str(tmp_path / "absent")))
    assert "does not exist" in message and "absent" in message


def _no_pool_registry(real: Registry) -> Registry:
    """One Hub-backed task whose German has a test split but no validation (shot pool)."""

    def hub(language, split):
        if (language, split) in {("en", "train"), ("en", "validation"), ("en", "test"), ("de", "test")}:
            return HubRef("org/data", language, split, "0" * 40)
        return None

    task = Task(name="nopool", kind="classification", languages=("en", "de"), metric="accuracy",
                labels=("a", "b"), hub=hub, convert=dict)
    return replace(real, tasks={"nopool": task}, task_plugin={"nopool": "test"})


def test_k_above_zero_needs_a_shot_pool(registry, monkeypatch, tmp_path):
    datasets_cache_with(monkeypatch, tmp_path, ("org/data", "en"), ("org/data", "de"))
    registry = _no_pool_registry(registry)
    zero_shot = plan_of(registry, grid(target__task="nopool", target__languages=["de"], intermediate__tasks=["none"],
                                       fewshot__shots=[0]))
    assert Counter(s.type for s in zero_shot.stages.values()) == {"target": 2, "evaluate": 4}
    message = plan_error(registry, grid(target__task="nopool", target__languages=["de"], intermediate__tasks=["none"]))
    assert "'nopool'" in message and "de validation" in message and "4-shot" in message


def test_k_above_zero_error_names_the_field(registry, monkeypatch, tmp_path):
    datasets_cache_with(monkeypatch, tmp_path, ("org/data", "en"), ("org/data", "de"))
    registry = _no_pool_registry(registry)
    message = plan_error(registry, grid(target__task="nopool", target__languages=["de"], intermediate__tasks=["none"]))
    assert "fewshot.shots" in message


# --------------------------------------------------------------------------- real data (../shared/data)

def xnli_grid(data_dir) -> dict:
    return spec_data(data_dir=str(data_dir), target={"task": "xnli", "languages": ["de", "sw"], "max_steps": 2},
                     fewshot={"shots": [0, 4], "shot_sets": 2})


def test_xnli_plan_from_local_data(registry, shared_data):
    plan = plan_of(registry, xnli_grid(shared_data))
    counts = Counter(s.type for s in plan.stages.values())
    assert counts == {"target": 1, "evaluate": 3, "fewshot": 4}
    evaluated = [s.grid["language"] for s in plan.stages.values() if s.type == "evaluate"]
    assert evaluated == ["en", "de", "sw"], "en is evaluated automatically, first"
    target = next(s for s in plan.stages.values() if s.type == "target")
    assert set(target.config["data"]) == {"train"}  # no local en validation file
    assert target.config["data"]["train"].startswith("sha256:")
    assert target.data_dir == str(shared_data.resolve())
    for stage in plan.stages.values():
        if stage.type == "fewshot":
            assert stage.config["shot_pool"]["fingerprint"].startswith("sha256:")


def test_xnli_data_dir_from_environment(registry, shared_data, monkeypatch):
    data = xnli_grid(shared_data)
    del data["data_dir"]
    monkeypatch.setenv("XTUI_DATA_DIR", str(shared_data))
    assert hashes(plan_of(registry, data)) == hashes(plan_of(registry, xnli_grid(shared_data)))


def test_data_fingerprint_follows_file_content(registry, shared_data, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(shared_data / "xnli", copy / "xnli")
    original = plan_of(registry, xnli_grid(shared_data))
    copied = plan_of(registry, xnli_grid(copy))
    assert list(copied.stages) == list(original.stages), "same content, other folder: same hashes"

    test_file = copy / "xnli" / "de" / "test.jsonl"
    lines = test_file.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[0] = lines[0].replace('"label": 2', '"label": 1')
    lines[0] = lines[0].replace("}", ', "edited": true}', 1)
    test_file.write_text("".join(lines), encoding="utf-8")
    edited = plan_of(registry, xnli_grid(copy))
    changed = [original.stages[h] for h in hashes(original) - hashes(edited)]
    assert changed and all(s.grid["language"] == "de" and s.type in ("evaluate", "fewshot") for s in changed)
    assert len(changed) == 1 + 2  # de evaluated at K=0 and in both shot sets
    assert hashes(original, "target") == hashes(edited, "target")

    pool = copy / "xnli" / "de" / "validation.jsonl"
    pool.write_text(pool.read_text(encoding="utf-8") + pool.read_text(encoding="utf-8").splitlines()[0] + "\n",
                    encoding="utf-8")
    grown = plan_of(registry, xnli_grid(copy))
    changed = [edited.stages[h] for h in hashes(edited) - hashes(grown)]
    assert sorted((s.type, s.grid["language"]) for s in changed) == [("fewshot", "de")] * 2


def test_skipped_answers_are_hashed_and_reach_the_worker(registry):
    """``[data] misaligned_answers = "skip"`` says what the data is: it is in every stage's hashed content
    (absent by default, so no other hash changes), survives stage.json, and the worker's reader leaves the
    misaligned questions out; a stage without it still refuses them."""
    import json

    from xtui.errors import DataError
    from xtui.stage import StageType
    from xtui.worker.data import StageData, StageReader

    data_dir = TESTS / "bad_inputs" / "align-skipped-with-a-count" / "data"  # 1 of 3 misaligned
    spec = spec_data(data_dir=str(data_dir), data={"misaligned_answers": "skip"}, fewshot={"shots": [0]},
                     target={"task": "xquad", "languages": ["de"], "max_steps": 2})
    stages = list(build_plan(parse_spec(spec), registry, SOURCE).stages.values())
    assert stages and all(s.misaligned_answers == "skip" for s in stages)
    target = next(s for s in stages if s.type is StageType.TARGET)
    assert stage_hash({k: v for k, v in target.content().items() if k != "misaligned_answers"}) != target.hash
    assert StageConfig.from_json(json.loads(json.dumps(target.to_json()))) == target  # its hash checked
    default = build_plan(parse_spec(grid()), registry, SOURCE).stages.values()
    assert not any("misaligned_answers" in s.to_json() for s in default)

    reader = StageReader(StageData(device=None), target, evaluate=None)
    task = reader.task(target.task)
    assert len(reader.examples(task, "en", task.train_split)) == 2
    strict = StageReader(StageData(device=None), replace(target, misaligned_answers=None), evaluate=None)
    with pytest.raises(DataError, match="answer_start"):
        strict.examples(task, "en", task.train_split)
