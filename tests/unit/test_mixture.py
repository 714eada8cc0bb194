"""Multi-task intermediate training: sampling policies, the batch sampler, the plan, and a
mixture of three real English tasks (NLI, multiple choice, QA) trained end to end with the
tiny model before a multiple-choice target (XCOPA)."""

from __future__ import annotations

import json
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


# --------------------------------------------------------------------------- end to end

SPEC = """
name = "mixture"
model = "tiny"
seeds = [2]
data_dir = "{data}"

[intermediate]
tasks = [["anli", "hellaswag", "squad_v1"]]
sampling = "temperature"
temperature = 2.0
max_steps = 24
batch_size = 8
learning_rate = 1e-3

[target]
task = "xcopa"
languages = ["et"]
max_steps = 4
batch_size = 8
learning_rate = 1e-3
max_length = 64

[fewshot]
shots = [0]
"""


@pytest.mark.slow
def test_a_mixture_of_nli_multiple_choice_and_qa_trains_then_feeds_a_target(xtui, write_spec, shared_data, tmp_path, home):
    """Real samples; ANLI's file is split into train and validation here so the mixture also
    selects its checkpoint on validation data (the mean of its members' headline scores)."""
    from safetensors import safe_open

    data = tmp_path / "data"
    for name in ("hellaswag", "squad_v1", "xcopa"):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).symlink_to(shared_data / name)
    rows = (shared_data / "anli" / "en" / "train.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (data / "anli" / "en").mkdir(parents=True)
    (data / "anli" / "en" / "train.jsonl").write_text("".join(rows[:1800]), encoding="utf-8")
    (data / "anli" / "en" / "validation.jsonl").write_text("".join(rows[1800:]), encoding="utf-8")

    run = xtui("run", write_spec(SPEC.format(data=data)))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    folders = {json.loads(p.read_text())["hash"]: p.parent for p in (home / "stages").glob("*/stage.json")}
    results = {h: json.loads((f / "result.json").read_text()) for h, f in folders.items()}
    assert sorted(r["type"] for r in results.values()) == ["evaluate", "intermediate", "target"]
    mixture = next(r for r in results.values() if r["type"] == "intermediate")
    info = mixture["mixture"]
    assert info["tasks"] == ["anli", "hellaswag", "squad_v1"] and info["sampling"] == "temperature"
    assert info["sizes"][:2] == [1800, 700] and info["sizes"][2] >= 2002  # QA: one feature per context window
    assert info["weights"] == pytest.approx(mixture_weights(info["sizes"], "temperature", 2.0))
    assert sum(info["batches_per_task"]) == 24 and min(info["batches_per_task"]) > 0
    # selected on validation: only anli has it here, so the average is anli's accuracy
    assert mixture["selection"]["strategy"] == "best English validation" and mixture["selection"]["metric"] == "average"
    assert mixture["validation"]["average"] == mixture["validation"]["anli.accuracy"]
    with safe_open(str(folders[mixture["hash"]] / "checkpoint" / "head.safetensors"), "pt") as heads:
        assert {key.split(".")[1] for key in heads.keys()} == {"anli", "hellaswag", "squad_v1"}
    target = next(r for r in results.values() if r["type"] == "target")
    stage = json.loads((folders[target["hash"]] / "stage.json").read_text())
    assert stage["parent"] == mixture["hash"] and target["grid"]["intermediate"] == "anli+hellaswag+squad_v1"
    evaluation = next(r for r in results.values() if r["type"] == "evaluate")
    assert 0 <= evaluation["metrics"]["accuracy"] <= 1 and evaluation["evaluation"]["examples"] == 400 - 100
    rerun = xtui("run", write_spec(SPEC.format(data=data), "again.toml"))
    assert rerun.returncode == 0 and "3 reused, 0 to run" in rerun.stdout


RESUME_SPEC = """
name = "mixture-resume"
model = "tiny"
seeds = [4]
data_dir = "{data}"

[intermediate]
tasks = [["anli", "hellaswag"]]
sampling = "uniform"
max_steps = 160
batch_size = 8
learning_rate = 1e-3
max_length = 48

[target]
task = "xcopa"
languages = ["it"]
max_steps = 2
batch_size = 8
max_length = 48

[fewshot]
shots = [0]

[run]
checkpoint_every_steps = 20
"""


@pytest.mark.slow
def test_a_killed_mixture_resumes_to_the_same_weights(tmp_path, write_spec, shared_data, xtui):
    """kill -9 mid-way through a mixture's training, --resume: the same task draws and the same
    final loss as an uninterrupted run (the sampler's order depends only on the epoch seed)."""
    import os
    import signal
    import subprocess

    from conftest import XTUI, offline_env
    from integration.test_faults import _events, _wait_for

    spec = write_spec(RESUME_SPEC.format(data=shared_data))
    reference_home = tmp_path / "reference"
    reference = subprocess.run([*XTUI, "run", str(spec)], capture_output=True, text=True, env=offline_env(reference_home), timeout=600)
    assert reference.returncode == 0, reference.stderr[-2000:]

    home = tmp_path / "runs"
    supervisor = subprocess.Popen([*XTUI, "run", str(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=offline_env(home), start_new_session=True)

    def checkpointed():
        for path in (home / "stages").glob("*/stage.json"):
            if json.loads(path.read_text()).get("mixture"):
                steps = [e["step"] for e in _events(path.parent) if e["event"] == "checkpoint"]
                return path.parent if steps and steps[-1] >= 60 else None
        return None

    folder = _wait_for(checkpointed, what="a mixture checkpoint at step 60")
    os.killpg(json.loads((folder / "running.json").read_text())["pgid"], signal.SIGKILL)
    supervisor.communicate(timeout=120)
    assert supervisor.returncode == 1
    resumed = xtui("run", "--resume", "latest")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]

    def mixture_result(root):
        return next(json.loads(p.read_text()) for p in (root / "stages").glob("*/result.json")
                    if json.loads(p.read_text())["type"] == "intermediate")
    got, expected = mixture_result(home), mixture_result(reference_home)
    assert got["train"]["resumed_from_step"] >= 60
    assert got["train"]["final_loss"] == pytest.approx(expected["train"]["final_loss"], abs=1e-6)
    assert got["mixture"]["weights"] == expected["mixture"]["weights"]
