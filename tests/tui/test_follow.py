"""The follower behind `xtui attach` and the app: events folded into stage states, restarts, bursts."""

from __future__ import annotations

import json
import os

from xtui.follow import ExperimentFollower, StageState, event_line
from xtui.tui.loss_plot import downsample

from .fake_runs import T0, write_experiment, write_running


def test_finished_experiment_is_folded_from_files(store):
    experiment = write_experiment(store, "20231114-221320-baseline-aaaa", name="baseline", created=T0)
    follower = ExperimentFollower(store, experiment["id"])
    changes = follower.poll()
    assert len(changes) == len(experiment["stages"]) == 2 + 1 + 2 * 3 + 2 * 2 * 2
    assert follower.status == "done" and not follower.live
    assert follower.counts() == {"done": len(experiment["stages"])}
    target = next(s for s in follower.stages.values() if s.type == "target" and s.grid["intermediate"] == "none")
    assert target.step == target.total == 20 and len(target.losses) == 20
    assert [round(l, 4) for _, l in target.losses[:3]] == [0.685, 0.67, 0.695]
    assert [e["step"] for e in target.evals if e["split"] == "validation"] == [10, 20]
    assert target.elapsed() == 8.0 and target.eta() is None
    evaluation = next(s for s in follower.stages.values() if s.type == "evaluate" and s.grid["language"] == "de"
                      and s.grid["intermediate"] == "demo_nli")
    assert evaluation.metrics["accuracy"] == 0.66
    assert follower.poll() == []  # nothing changed, nothing reported


def test_running_stage_then_restarted_stage_file(store):
    experiment, target, _ = write_running(store, "20231114-000000-live-cccc", pid=os.getpid(), created=T0)
    follower = ExperimentFollower(store, experiment["id"])
    follower.poll()
    assert follower.live and follower.stages[target].status == "pending"
    events = store.stage_dir(target) / "events.jsonl"
    lines = [{"event": "start", "time": T0 + 1}, {"event": "train", "time": T0 + 2, "total_steps": 10}]
    lines += [{"event": "step", "time": T0 + 2 + i, "step": i, "total": 10, "loss": 1.0 / i, "lr": 0.1,
               "examples_per_second": 50.0} for i in range(1, 4)]
    events.write_text("".join(json.dumps(e) + "\n" for e in lines) + '{"event": "step", "ti')  # a half-written line
    (state, new, previous), = follower.poll()
    assert previous == "pending" and state.status == "running" and state.step == 3 and len(new) == 5
    assert state.eta(now=T0 + 1 + 30) == 70.0  # 3 steps in 30 s, 7 to go
    # the stage is launched again (e.g. after a failure): a new, shorter file replaces the old one
    events.write_text(json.dumps({"event": "start", "time": T0 + 100}) + "\n")
    (state, new, _), = follower.poll()
    assert state.step == 0 and state.losses == [] and state.started == T0 + 100


def test_a_burst_of_events_is_one_poll_and_the_plot_stays_small(store):
    experiment, target, _ = write_running(store, "20231114-000000-live-dddd", pid=os.getpid(), created=T0)
    follower = ExperimentFollower(store, experiment["id"])
    follower.poll()
    with open(store.stage_dir(target) / "events.jsonl", "w") as handle:
        handle.write(json.dumps({"event": "start", "time": T0}) + "\n")
        for i in range(1, 20001):
            handle.write(json.dumps({"event": "step", "time": T0 + i / 100, "step": i, "total": 20000,
                                     "loss": 5.0 if i == 777 else 1.0 - i / 40000, "lr": 0.1,
                                     "examples_per_second": 900.0}) + "\n")
    changes = follower.poll()
    state = follower.stages[target]
    assert len(changes) == 1 and len(changes[0][1]) == 20001 and len(state.losses) == 20000
    assert len(state.log) == 300  # the log tail keeps the last lines only
    drawn = downsample(state.losses, 60)
    assert len(drawn) <= 120 and max(l for _, l in drawn) == 5.0  # the spike survives min/max downsampling
    assert drawn[0][0] < drawn[-1][0]


def test_supervisor_gone_means_interrupted(store):
    experiment, target, evaluate = write_running(store, "20231114-000000-dead-eeee", pid=2 ** 22 + 12345, created=T0)
    follower = ExperimentFollower(store, experiment["id"])
    follower.poll()
    assert follower.status == "interrupted"
    assert follower.stages[evaluate].status == "pending"


def test_event_lines_are_readable():
    assert "step 3/10 loss 0.5000" in event_line({"event": "step", "time": T0, "step": 3, "total": 10, "loss": 0.5,
                                                  "lr": 1e-4, "examples_per_second": 12.0})
    assert "eval test de: accuracy 66.0" in event_line({"event": "eval", "time": T0, "split": "test", "language": "de",
                                                        "metrics": {"accuracy": 0.66}})
    assert "error: out of memory: CUDA (lower batch_size)" in event_line(
        {"event": "error", "time": T0, "cause": "out of memory", "message": "CUDA", "hint": "lower batch_size"})
    assert StageState("ab" * 32, "fewshot", grid={"intermediate": "none", "task": "x", "language": "de", "shots": 4,
                                                  "shot_set": 1, "seed": 1}).describe() == "fewshot none x de K=4 set 1 seed 1"
