"""Multi-task intermediate training end to end: a mixture of three real English tasks (NLI,
multiple choice, QA) trained with the tiny model before a multiple-choice target (XCOPA), and a
mixture killed mid-way that resumes to the same weights."""

from __future__ import annotations

import json

import pytest

from support.results import saved_accuracy
from xtui.batching import mixture_weights

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

[target.per_task.xcopa]
train = "copa"

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
    assert evaluation["evaluation"]["examples"] == 400 - 100
    assert evaluation["metrics"]["accuracy"] == pytest.approx(saved_accuracy(folders[evaluation["hash"]]))
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

[target.per_task.xcopa]
train = "copa"

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
    from .test_faults import _events, _wait_for

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
