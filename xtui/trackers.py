"""The trackers labs already use: ``[run] trackers = ["tensorboard", "wandb", "mlflow"]``.

Each stage gets one tracker run, through Accelerate's tracker classes (``accelerate.tracking``),
fed by the stage's own events: every step (loss, learning rate, throughput), every validation,
the final evaluation, and the stage's config, with its hash and grid labels as tags. Runs are
grouped by experiment: a TensorBoard folder per experiment (``$XTUI_HOME/tensorboard/<experiment>/``),
the W&B ``group``, an MLflow parent run per experiment (tag ``mlflow.parentRunId``).

Trackers are optional extras (``pip install 'xtui[tensorboard]'`` ...): a missing package is one
line at plan time. A tracker that fails while a stage trains (a server down, no W&B login) is
reported once in the stage's log and dropped; the stage goes on, as its results do not depend on it.

W&B and MLflow read their usual environment (``WANDB_MODE=offline``, ``WANDB_PROJECT``,
``MLFLOW_TRACKING_URI``); with no MLflow URI set, runs go to a file store in
``$XTUI_HOME/mlruns``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Callable, Optional

PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow-skinny")}
"""tracker -> (module to import, package to install)."""


def missing(names) -> list:
    """(tracker, package) of every tracker whose library is not installed."""
    return [(name, PACKAGES[name][1]) for name in names if importlib.util.find_spec(PACKAGES[name][0]) is None]


def mlflow_uri(home: Path) -> str:
    """The tracking URI: the user's MLFLOW_TRACKING_URI, else a file store in the runs folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"file:{Path(home).resolve() / 'mlruns'}"


def mlflow_environment(home: Path) -> dict:
    env = {"MLFLOW_TRACKING_URI": mlflow_uri(home)}
    if env["MLFLOW_TRACKING_URI"].startswith("file:"):
        env["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3 keeps file stores behind this switch
    return env


def start_parent_run(home: Path, experiment_name: str, experiment_id: str) -> Optional[str]:
    """An MLflow run for the whole experiment; each stage's run names it as its parent."""
    os.environ.update({k: v for k, v in mlflow_environment(home).items() if k not in os.environ})
    import mlflow

    mlflow.set_experiment(experiment_name)
    with mlflow.start_run(run_name=experiment_id, tags={"xtui.experiment": experiment_id}) as run:
        return run.info.run_id


def _flat(values: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, f"{name}."))
        elif isinstance(value, (int, float, str, bool)) or value is None:
            out[name] = value
        else:
            out[name] = str(value)
    return out


class StageTrackers:
    """The tracker runs of one stage; ``event(name, fields)`` is called with every event it emits."""

    def __init__(self, stage, warn: Callable[[str], None]):
        """``stage``: the stage's ``xtui.stage.StageConfig``."""
        tracking = stage.tracking or {}
        self.names = list((stage.run or {}).get("trackers") or [])
        self.warn = warn
        self.trackers: list = []
        self.step = 0
        if not self.names:
            return
        grid = stage.grid.to_json()
        experiment = tracking.get("experiment") or "xtui"
        self.run_name = f"{stage.short} {stage.describe()}"
        tags = {"xtui.stage": stage.hash, "xtui.type": stage.type.value, "xtui.experiment": experiment,
                **{f"xtui.{k}": str(v) for k, v in grid.items() if v is not None}}
        config = _flat({"stage": stage.hash, "type": stage.type.value, "task": stage.task, "language": stage.language,
                        "model": stage.model.get("name"), "seed": stage.seed, "grid": grid,
                        "training": stage.training.to_json() if stage.training else {}})
        for name in self.names:
            try:
                tracker = self._make(name, tracking, experiment, tags)
                tracker.start()
                tracker.store_init_configuration(config)
                self.trackers.append((name, tracker))
            except Exception as error:  # never fail a stage over its tracking
                self.warn(f"tracker {name} could not start ({type(error).__name__}: {error}); the stage goes on without it")

    def _make(self, name: str, tracking: dict, experiment: str, tags: dict):
        from accelerate.tracking import MLflowTracker, TensorBoardTracker, WandBTracker

        short = tags["xtui.stage"][:12]
        if name == "tensorboard":
            return TensorBoardTracker(short, str(Path(tracking["tensorboard_dir"]) / experiment))
        if name == "wandb":
            project = os.environ.get("WANDB_PROJECT") or tracking.get("name") or "xtui"
            Path(tracking["wandb_dir"]).mkdir(parents=True, exist_ok=True)
            return WandBTracker(project, group=experiment, name=self.run_name, dir=tracking["wandb_dir"],
                                tags=[f"{k.removeprefix('xtui.')}={v}"[:64] for k, v in tags.items()])
        os.environ.update({k: v for k, v in (tracking.get("mlflow_env") or {}).items() if k not in os.environ})
        parent = tracking.get("mlflow_parent")
        return MLflowTracker(experiment_name=tracking.get("name") or "xtui", run_name=self.run_name,
                             tags={**tags, **({"mlflow.parentRunId": parent} if parent else {})})

    def _log(self, values: dict, step: int) -> None:
        for name, tracker in list(self.trackers):
            try:
                tracker.log(values, step=step)
            except Exception as error:
                self.trackers.remove((name, tracker))
                self.warn(f"tracker {name} failed ({type(error).__name__}: {error}); the stage goes on without it")

    def event(self, kind: str, fields: dict) -> None:
        if not self.trackers:
            return
        if kind == "step":
            self.step = int(fields.get("step") or self.step)
            keys = ("loss", "lr", "examples_per_second", "tokens_per_second", "mfu")
            self._log({f"train/{k}": fields[k] for k in keys if isinstance(fields.get(k), (int, float))}, self.step)
        elif kind == "eval":
            split = fields.get("split", "eval") + (f"/{fields['language']}" if fields.get("language") else "")
            step = int(fields.get("step") or self.step)
            self._log({f"{split}/{k}": v for k, v in (fields.get("metrics") or {}).items() if isinstance(v, (int, float))},
                      step)
        elif kind in ("done", "error", "stopped"):
            self.close()

    def close(self) -> None:
        for name, tracker in self.trackers:
            try:
                tracker.finish()
            except Exception as error:
                self.warn(f"tracker {name} did not finish cleanly ({type(error).__name__}: {error})")
        self.trackers = []
