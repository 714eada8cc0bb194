"""Running one stage: read its ``stage.json``, build its kind and model, hand it to the runner of
its stage type (a registry: training stages, few-shot stages, evaluations), then write its
checkpoint, ``result.json`` (atomically, last) and its ``done`` event."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from ..files import atomic_write_json, atomic_write_text
from ..stage import StageConfig, StageType, read_stage
from .events import Events, Preempted, Stopped
from .faults import classify


@dataclass
class StageRun:
    """What a runner works with, and what it fills in (``result``, ``timing``)."""

    stage: StageConfig
    folder: Path
    events: Events
    kind: object
    model: object
    data: object
    """The stage's data reader (``xtui.worker.data.StageReader``)."""
    main: bool
    result: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)


def run_training(worker, run: StageRun) -> None:
    """Intermediate and target stages: the kind's training data and model selection, then training
    with periodic resumable checkpoints; a target's recipe trains its earlier tasks first (``phases``)."""
    if run.stage.phases:
        _train_phases(worker, run)
    task = run.data.task(run.stage.task) if run.stage.mixture is None else None
    features, selection = run.kind.training_data(run.data, task, run.stage)
    if run.stage.phases:
        run.events.emit("phase", phase=len(run.stage.phases) + 1, phases=len(run.stage.phases) + 1, task=run.stage.task)
    _train(worker, run, features, selection, run.folder)
    run.result.update(run.kind.record())


def _train_phases(worker, run: StageRun) -> None:
    """The tasks a target stage trains on before its own (XTREME-R's SocialIQA before English COPA), one
    after the other on the stage's model, whose head carries over, with the stage's settings, each on its
    own English data and model selection, resumable in ``phases/<n>/``. Each is recorded in ``phases``."""
    from ..kinds import load_kind_class

    stage, started = run.stage, time.perf_counter()
    run.result["phases"] = []
    for number, member in enumerate(stage.phases, 1):
        task = run.data.task(member.task)
        kind = load_kind_class(member.kind.target).for_task(task, run.data.tokenizer(), stage.input_length, member.language,
                                                           member.scorer.name if member.scorer else None, stage.pooling)
        phase = replace(stage, task=member.task, language=member.language, data=member.data, kind=member.kind)
        features, selection = kind.training_data(run.data, task, phase)
        run.events.emit("phase", phase=number, phases=len(stage.phases) + 1, task=member.task)
        run.result["phases"].append({"task": member.task, **_trained(worker, run, phase, kind, features, selection,
                                                                     run.folder / PHASES / str(number))})
        run.model = worker.device.accelerator.unwrap_model(run.model)
    run.timing["phases"] = time.perf_counter() - started


def run_fewshot(worker, run: StageRun) -> None:
    """K target-language examples (drawn, or a published set), a few steps, then the evaluation."""
    stage = run.stage
    task = run.data.task(stage.task)
    pool = run.data.examples(task, stage.language, stage.shot_pool.split)
    indices = _shot_indices(run, pool)
    shots = [pool[i] for i in indices]
    if run.main:
        atomic_write_text(run.folder / "shots.jsonl", "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in shots))
    run.result.update(shot_indices=indices, shot_split=stage.shot_pool.split)
    from accelerate.utils import set_seed

    set_seed(stage.seed)
    # fewshot.select: the shots are never among the examples it selects on (they may share a split)
    selection = run.kind.selection(run.data, task, stage, exclude={(stage.language, stage.shot_pool.split): indices})
    _train(worker, run, run.kind.features(shots), selection, None)
    run.model = worker.device.accelerator.unwrap_model(run.model)
    run_evaluation(worker, run)


def _shot_indices(run: StageRun, pool: list) -> list:
    stage = run.stage
    what = f"the {stage.language} shot pool of {stage.task} ({stage.shot_pool.split})"
    if stage.shot_file:  # a published set (fewshot.shot_sets_from), matched by content
        from ..buckets import match_set

        run.result["shot_file"] = stage.shot_file
        return match_set(Path(stage.shot_file), pool, list(stage.class_names), what)
    from ..shots import sample_shots

    stratified = stage.stratified is not False
    strata = [run.kind.stratum(e) for e in pool] if stratified else [None] * len(pool)
    return sample_shots(strata, stage.shots, stage.shot_seed, stratified,
                        what=f"{stage.task} {stage.language} {stage.shot_pool.split}")


def _train(worker, run: StageRun, features: list, selection, checkpoint_dir) -> None:
    started = time.perf_counter()
    run.result.update(_trained(worker, run, run.stage, run.kind, features, selection, checkpoint_dir))
    run.timing["train"] = time.perf_counter() - started


def _trained(worker, run: StageRun, stage, kind, features: list, selection, checkpoint_dir) -> dict:
    """Train the run's model as ``stage`` says with ``kind``; what the result records of it: ``selection``,
    ``validation`` (when selected on validation data) and the ``train`` summary."""
    summary = worker.trainer.train_with_batch_search(stage, run.model, kind, features, run.events, selection,
                                                     checkpoint_dir)
    recorded = {"selection": summary.pop("selection")}
    if "validation" in summary:
        recorded["validation"] = summary.pop("validation")
    recorded["train"] = summary
    return recorded


def run_evaluation(worker, run: StageRun) -> None:
    """The stage's test split, scored by its scorer; the decoded predictions kept beside the result."""
    from ..predictions import PREDICTIONS_FILE

    stage = run.stage
    task = run.data.task(stage.task)
    split = stage.evaluation.split
    examples = run.data.examples(task, stage.language, split)
    features = run.data.features(run.kind, task, stage.language, split)
    started = time.perf_counter()
    scores = worker.evaluate(run.model, run.kind, features, examples, stage.eval_batch,
                             keep=run.folder / PREDICTIONS_FILE if run.main else None,
                             meta={"stage": stage.hash, "task": stage.task, "split": split})
    run.timing["eval"] = time.perf_counter() - started
    run.events.emit("eval", split=split, language=stage.language, metrics=scores,
                    examples_per_second=len(examples) / max(run.timing["eval"], 1e-9))
    run.result["metrics"] = scores
    run.result["evaluation"] = {"split": split, "language": stage.language, "examples": len(examples)}
    run.result.update(_model_selection(stage, run.result.get("selection")))


def _model_selection(stage: StageConfig, own: Optional[dict]) -> dict:
    """How the weights an evaluation scored were chosen, per training phase of its chain (its parent's
    ``selection`` from the parent's result.json, and a few-shot stage's own), and whether the result is
    zero-shot: K = 0 and no phase selected on target-language dev data (xtui.selection)."""
    from ..files import read_json
    from ..selection import uses_target_dev

    phases = {}
    parent = read_json(Path(stage.parent_dir) / "result.json") if stage.parent_dir else None
    if isinstance(parent, dict) and isinstance(parent.get("selection"), dict):
        phases[parent.get("type", "parent")] = _phase(parent["selection"])
    if own:
        phases[stage.type.value] = _phase(own)
    return {"model_selection": phases, "zero_shot": not stage.shots and not uses_target_dev(phases)}


def _phase(record: dict) -> dict:
    """What an evaluation's result keeps of a phase's selection."""
    from ..selection import recorded_select

    phase = {k: record[k] for k in ("step", "metric", "value", "split", "languages", "early_stopped") if k in record}
    return {"select": recorded_select(record), **phase}


PHASES = "phases"
"""The folder of a stage's earlier phases' resumable training state (``phases/<n>/resume/``)."""

RUNNERS: dict = {
    StageType.INTERMEDIATE: run_training,
    StageType.TARGET: run_training,
    StageType.FEWSHOT: run_fewshot,
    StageType.EVALUATE: run_evaluation,
}
"""The runner of each stage type: ``runner(worker, run)``."""


def run_stage(worker, folder: Path) -> bool:
    """One stage, start to result; False when it failed (its error event and error.txt say why)."""
    device = worker.device
    main = device.main
    try:
        stage = read_stage(folder)
    except Exception as error:  # a stage.json this worker cannot read: the stage fails, the group goes on
        Events(folder / "events.jsonl", main).emit("error", message=str(error), cause="bad input", hint="")
        return False
    events = Events(folder / "events.jsonl", main, stage)
    started, clock = time.time(), time.perf_counter()
    events.emit("start", pid=os.getpid(), pgid=os.getpgid(0), host=socket.gethostname(), type=stage.type,
                device=str(device.accelerator.device), processes=device.accelerator.num_processes,
                threads=device.speed["threads"], precision=device.speed["precision"])
    try:
        run = worker.prepare(stage, folder, events)
        run.timing["model"] = time.perf_counter() - clock
        RUNNERS[stage.type](worker, run)
        _finish(worker, run, started, clock)
        return True
    except Preempted as stop:
        if stop.requeue:  # the job comes back and continues from the checkpoint
            events.emit("preempted", signal=str(stop), job=os.environ.get("SLURM_JOB_ID"),
                        restart=int(os.environ.get("SLURM_RESTART_COUNT") or 0) + 1)
        else:
            events.emit("stopped", signal=str(stop), checkpoint=True)
        raise
    except Stopped as stop:
        events.emit("stopped", signal=str(stop))
        raise
    except Exception as error:
        cause, hint = classify(error)
        message = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else type(error).__name__
        if main:
            atomic_write_text(folder / "error.txt", traceback.format_exc())
        events.emit("error", message=message, cause=cause, hint=hint)
        print(f"xtui worker: stage {folder.name} failed: {message}", file=sys.stderr)
        return False
    finally:
        events.close()
        device.empty_cache()


def _finish(worker, run: StageRun, started: float, clock: float) -> None:
    from .device import versions

    stage = run.stage
    if stage.save_checkpoint:
        worker.models.save_checkpoint(worker.device.accelerator.unwrap_model(run.model), run.folder)
    if run.main:
        shutil.rmtree(run.folder / "resume", ignore_errors=True)
        shutil.rmtree(run.folder / PHASES, ignore_errors=True)
    # Where the time went: "train" is the whole training call (its loop alone is train.training_seconds),
    # "eval" the final evaluation, the rest is overhead.
    run.timing["total"] = time.perf_counter() - clock
    scorer = getattr(run.kind, "_scorer", None)
    result = {"hash": stage.hash, "type": stage.type.value, "status": "done", "task": stage.task,
              "language": stage.language, "grid": stage.grid.to_json(), "seed": stage.seed, "metric": run.kind.metric,
              "scorer": {"name": scorer.name, "version": scorer.version, "reproduces": scorer.reproduces} if scorer else None,
              **run.result, "timing": run.timing, "device": str(worker.device.accelerator.device),
              "processes": worker.device.accelerator.num_processes, "versions": versions(worker.data.registry),
              "started": started, "finished": time.time(), "seconds": time.time() - started}
    if run.main:
        atomic_write_json(run.folder / "result.json", result)
    speed = {k: result["train"][k] for k in ("examples_per_second", "tokens_per_second", "flops_per_second", "mfu")
             if k in result.get("train", {})}
    run.events.emit("done", metric=run.kind.metric, metrics=result.get("metrics") or result.get("validation") or {},
                    seconds=result["seconds"], **speed)


class Worker:
    """The worker of one process: a device, and data and model caches shared by a group's stages."""

    def __init__(self):
        from .data import StageData
        from .device import Device
        from .model import ModelBuilder
        from .training import Trainer

        self.device = Device()
        self.data = StageData(self.device)
        self.models = ModelBuilder(self.device, self.data)
        self.trainer = Trainer(self.device)

    def reader(self, stage: StageConfig):
        from .data import StageReader

        return StageReader(self.data, stage, self.evaluate)

    def prepare(self, stage: StageConfig, folder: Path, events: Events) -> StageRun:
        """The stage's model files made (a converted preset, once per cache), its kind and its model."""
        from accelerate.utils import set_seed

        from ..kinds import load_kind_class
        from ..models import prepare_model

        self.data.use_stage(stage)
        set_seed(stage.seed)
        prepare_model(stage.model, log=events.log)
        reader = self.reader(stage)
        kind = load_kind_class(stage.kind.target).for_stage(stage, reader)
        model = self.models.build(stage, kind).to(self.device.accelerator.device)
        if self.device.speed["compile"] and stage.type.trains:
            model.compile(dynamic=True)
        return StageRun(stage, folder, events, kind, model, reader, self.device.main)

    def run_stage(self, folder: Path) -> bool:
        return run_stage(self, folder)

    # -- the parts, for scripts and benchmarks (a StageConfig.standalone stage) -----------------
    @property
    def cache_dir(self):
        return self.data.cache_dir

    @cache_dir.setter
    def cache_dir(self, folder) -> None:
        self.data.cache_dir = Path(folder)

    @property
    def feature_cache(self):
        return self.data.feature_cache

    def task(self, name: str):
        return self.data.task(name)

    def tokenizer(self, model: dict):
        return self.data.tokenizer(model)

    def load_features(self, stage: StageConfig, kind, language: str, split: str) -> list:
        return self.reader(stage).features(kind, self.reader(stage).task(stage.task), language, split)

    def feature_key(self, stage: StageConfig, kind, language: str, split: str) -> str:
        task = self.reader(stage).task(stage.task)
        return self.data.feature_key(kind, task, language, split, stage.data_dir, stage.model, stage.kind,
                                     stage.misaligned_answers)

    def evaluate(self, model, kind, features, examples, batch_size: int, keep=None, meta=None) -> dict:
        from .evaluation import evaluate

        return evaluate(self.device, model, kind, features, examples, batch_size, keep, meta)

    def train(self, stage, model, kind, features, events, selection=None, stage_dir=None, batch_size=None) -> dict:
        return self.trainer.train(stage, model, kind, features, events, selection, stage_dir, batch_size)

    def build_model(self, stage: StageConfig, kind):
        return self.models.build(stage, kind)

    def peak_flops(self):
        return self.device.peak_flops()

