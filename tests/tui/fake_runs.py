"""Run directories written by hand (no training): finished and running experiments with known numbers.

Everything a snapshot shows is fixed here: ids, times, losses, scores.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

from support.stage_files import old_stage_json
from xtui.files import atomic_write_json, atomic_write_text
from xtui.store import RunStore, index_record

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC

ZERO_SHOT = {("none", "en"): 0.81, ("none", "de"): 0.62, ("none", "fr"): 0.55,
             ("demo_nli", "en"): 0.84, ("demo_nli", "de"): 0.66, ("demo_nli", "fr"): 0.54}
FEW_SHOT = {("none", "de"): [0.64, 0.68], ("none", "fr"): [0.58, 0.60],
            ("demo_nli", "de"): [0.71, 0.69], ("demo_nli", "fr"): [0.57, 0.59]}


def digest(*parts) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _events(folder: Path, events: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "events.jsonl", "".join(json.dumps(e) + "\n" for e in events))


def write_stage(store: RunStore, key: str, type_: str, labels: dict, parent=None, *, start: float, steps: int = 0,
                metrics=None, validation=None, done: bool = True, seconds: float = 4.0, recorded=None) -> str:
    """One stage's files; ``recorded``: more fields of its result.json."""
    h = digest(key, type_, *sorted(labels.items()))
    folder = store.stage_dir(h)
    folder.mkdir(parents=True, exist_ok=True)
    language = labels.get("language", "en")
    atomic_write_json(folder / "stage.json", old_stage_json(h, type_, labels, task=labels["task"], language=language,
                                                            parent=parent))
    events = [{"event": "start", "time": start, "pid": 1, "host": "h", "type": type_, "device": "cpu"}]
    if steps:
        events.append({"event": "train", "time": start + 0.5, "total_steps": steps, "examples": 600, "batch_size": 16})
        for step in range(1, steps + 1):
            loss = 0.7 - 0.3 * step / steps + (0.04 if step % 3 == 0 else 0.0)
            events.append({"event": "step", "time": start + 0.5 + step * 0.1, "step": step, "total": steps,
                           "loss": loss, "lr": 1e-4 * (1 - step / steps), "examples_per_second": 120.0})
            if validation and step % max(1, steps // 2) == 0:
                events.append({"event": "eval", "time": start + 0.6 + step * 0.1, "step": step, "split": "validation",
                               "metrics": validation, "selection": True})
    if metrics:
        events.append({"event": "eval", "time": start + seconds - 0.5, "split": "test", "language": language,
                       "metrics": metrics})
    if done:
        events.append({"event": "done", "time": start + seconds, "metrics": metrics or validation or {}, "seconds": seconds})
        result = {"hash": h, "type": type_, "status": "done", "task": labels["task"], "language": language,
                  "labels": labels, "seed": labels.get("seed", 1), "metric": "accuracy", "seconds": seconds,
                  "started": start, "finished": start + seconds}
        if metrics:
            result.update(metrics=metrics, evaluation={"split": "test", "language": language, "examples": 200})
        if validation:
            result["validation"] = validation
        result.update(recorded or {})
        atomic_write_json(folder / "result.json", result)
    _events(folder, events)
    return h


def scores(value: float) -> dict:
    return {"accuracy": value, "macro_f1": value - 0.05}


def write_experiment(store: RunStore, experiment_id: str, *, name: str, intermediates=("none", "demo_nli"),
                     languages=("de", "fr"), shot_sets: int = 2, created: float = T0, status: str = "done",
                     learning_rate: float = 1e-4, offset: float = 0.0, index: bool = True, select: str = "") -> dict:
    """A finished experiment: target + evaluate (K=0) + fewshot (K=4) stages with known scores; ``select``:
    the target's model selection its results record (``target-dev``: not zero-shot)."""
    chain = {"model_selection": {"target": {"select": select}}} if select else None
    store.ensure()
    stages = []
    clock = created + 1
    for intermediate in intermediates:
        base = {"intermediate": intermediate, "task": "demo_sentiment", "seed": 1}
        parent = None
        if intermediate != "none":
            parent = write_stage(store, "fake", "intermediate", {**base, "task": intermediate}, start=clock, steps=12,
                                 validation={"accuracy": 0.7, "macro_f1": 0.65}, seconds=6)
            stages.append(parent)
            clock += 6
        target = write_stage(store, f"fake{learning_rate}", "target", base, parent, start=clock, steps=20,
                             validation={"accuracy": 0.8, "macro_f1": 0.75}, seconds=8)
        stages.append(target)
        clock += 8
        for language in ("en", *languages):
            stages.append(write_stage(store, f"fake{learning_rate}", "evaluate", {**base, "language": language, "shots": 0,
                                                                                 "shot_set": None}, target, start=clock,
                                      metrics=scores(ZERO_SHOT[intermediate, language] + offset), seconds=2,
                                      recorded=chain))
            clock += 2
        for language in languages:
            for shot_set in range(shot_sets):
                value = FEW_SHOT[intermediate, language][shot_set % 2] + offset
                stages.append(write_stage(store, f"fake{learning_rate}", "fewshot",
                                          {**base, "language": language, "shots": 4, "shot_set": shot_set}, target,
                                          start=clock, steps=4, metrics=scores(value), seconds=3, recorded=chain))
                clock += 3
    spec = {"name": name, "model": "tiny", "seeds": [1], "data_dir": None, "description": "",
            "intermediate": {"tasks": list(intermediates), "max_steps": 12, "learning_rate": 1e-5},
            "target": {"task": "demo_sentiment", "languages": list(languages), "max_steps": 20,
                       "learning_rate": learning_rate},
            "fewshot": {"shots": [0, 4], "shot_sets": shot_sets, "steps": 4}}
    folder = store.experiment_dir(experiment_id)
    folder.mkdir(parents=True, exist_ok=True)
    from xtui.tui.specfile import spec_to_toml

    atomic_write_text(folder / "spec.toml", spec_to_toml({k: v for k, v in spec.items() if v not in (None, "")}))
    experiment = {"id": experiment_id, "name": name, "status": status, "model": "tiny",
                  "intermediate": list(intermediates), "target": "demo_sentiment", "metric": "accuracy",
                  "languages": list(languages), "shots": [0, 4], "shot_sets": shot_sets, "seeds": [1],
                  "created": created, "finished": clock if status != "running" else None, "spec_path": "spec.toml",
                  "host": socket.gethostname(), "pid": os.getpid(), "stages": stages, "stage_count": len(stages),
                  "reused": 0, "failed_stages": 0, "headline": None, "spec": spec, "overrides": []}
    from xtui.results import experiment_rows, headline, summary_tables

    experiment["headline"] = headline(summary_tables(experiment_rows(store, experiment), experiment))
    atomic_write_json(folder / "experiment.json", experiment)
    if index:
        store.upsert_experiment(index_record(experiment))
    return experiment


def write_running(store: RunStore, experiment_id: str, *, pid: int, created: float) -> tuple:
    """A running experiment with one running training stage (no events yet) and one pending evaluation."""
    store.ensure()
    base = {"intermediate": "none", "task": "demo_sentiment", "seed": 1}
    target = digest("running", experiment_id, "target")
    evaluate = digest("running", experiment_id, "evaluate")
    for h, type_, labels, parent in ((target, "target", base, None),
                                     (evaluate, "evaluate", {**base, "language": "de", "shots": 0, "shot_set": None}, target)):
        folder = store.stage_dir(h)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(folder / "stage.json", old_stage_json(h, type_, labels, task="demo_sentiment",
                                                                language=labels.get("language", "en"), parent=parent))
    folder = store.experiment_dir(experiment_id)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "spec.toml", 'name = "live"\nmodel = "tiny"\n\n[target]\ntask = "demo_sentiment"\nlanguages = ["de"]\n')
    experiment = {"id": experiment_id, "name": "live", "status": "running", "model": "tiny", "intermediate": ["none"],
                  "target": "demo_sentiment", "metric": "accuracy", "languages": ["de"], "shots": [0], "shot_sets": 1,
                  "seeds": [1], "created": created, "finished": None, "spec_path": "spec.toml",
                  "host": socket.gethostname(), "pid": pid, "stages": [target, evaluate], "stage_count": 2,
                  "reused": 0, "failed_stages": 0, "headline": None,
                  "spec": {"name": "live", "model": "tiny", "target": {"task": "demo_sentiment", "languages": ["de"]}}}
    atomic_write_json(folder / "experiment.json", experiment)
    store.upsert_experiment(index_record(experiment))
    return experiment, target, evaluate
