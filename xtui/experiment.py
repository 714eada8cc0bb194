"""An experiment's lifecycle: its record created (or an interrupted run of the same spec continued),
its plan run by the executor, its outcome recorded. ``experiment.json`` in its folder is the record;
the index holds its summary (``xtui.store``). ``xtui run`` prints around it; the app starts the same
``xtui run`` as a subprocess. Headless: no Textual, no torch."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Callable, Optional

from .files import atomic_write_json, atomic_write_text
from .store import RunStore, index_record

Warn = Callable[[str], None]


class Experiment:
    """One run of a plan, and the record that tells it."""

    def __init__(self, store: RunStore, plan, record: dict, spec, warn: Warn):
        self.store, self.plan, self.record, self.spec, self.warn = store, plan, record, spec, warn

    @property
    def id(self) -> str:
        return self.record["id"]

    @property
    def folder(self) -> Path:
        return self.store.experiment_dir(self.id)

    @classmethod
    def create(cls, store: RunStore, spec, text: str, spec_path: Path, plan, registry, overrides: list,
               existing: Optional[dict] = None, warn: Warn = lambda line: None) -> "Experiment":
        """The record of a new experiment (or of ``existing``, resumed), written before any stage starts."""
        from .spec import intermediate_key

        store.ensure()
        if existing:
            experiment_id = existing["id"]
        else:
            from .launch import ID_ENV, new_experiment_id

            experiment_id = os.environ.get(ID_ENV) or new_experiment_id(spec.name)
            store.experiment_dir(experiment_id).mkdir(parents=True, exist_ok=True)
            atomic_write_text(store.experiment_dir(experiment_id) / "spec.toml", text)
        targets = spec.target.names()
        info = targets_info(spec, plan, registry)
        record = {
            "id": experiment_id, "name": spec.name, "status": "running", "model": spec.model,
            "intermediate": [intermediate_key(t) for t in spec.intermediate.tasks], "target": " ".join(targets),
            "targets": targets, "targets_info": info, "metric": registry.tasks[targets[0]].metric,
            "languages": list(dict.fromkeys(l for i in info.values() for l in i["languages"])),
            "shots": spec.fewshot.shots, "shot_sets": spec.fewshot.shot_sets, "seeds": spec.seeds,
            "created": time.time(), "finished": None, "spec_path": str(Path(spec_path).resolve()),
            "host": socket.gethostname(), "pid": os.getpid(), "executor": spec.run.executor, "stages": list(plan.stages),
            "stage_count": len(plan.stages), "reused": sum(1 for d in plan.stages if store.stage_result(d)),
            "failed_stages": 0, "headline": None, "spec": json.loads(spec.model_dump_json()), "overrides": overrides,
        }
        if existing:
            record["created"] = existing.get("created", record["created"])
            record["resumed"] = (existing.get("resumed") or 0) + 1
        else:
            record["continues"] = supersede(store, record, warn)
        experiment = cls(store, plan, record, spec, warn)
        experiment.save()
        return experiment

    def save(self) -> None:
        """experiment.json, then the index (the index is rebuilt from the folders if it is ever lost)."""
        atomic_write_json(self.folder / "experiment.json", self.record)
        self.store.upsert_experiment(index_record(self.record))

    def run(self, on_event, on_status):
        """Every stage of the plan through the executor (trackers started first); the executor."""
        from .executor import LocalExecutor

        tracking, env = tracking_settings(self.spec, self.store, self.id, self.record, self.warn)
        if tracking:
            self.save()
        options = dict(stage_extra={"tracking": tracking} if tracking else None, env=env)
        if self.spec.run.executor == "slurm":
            from .slurm import SlurmExecutor

            executor = SlurmExecutor(self.store, self.plan, on_event, on_status, settings=self.spec.run.slurm, **options)
        else:
            executor = LocalExecutor(self.store, self.plan, on_event, on_status, **options)
        self.ok = executor.run()
        return executor

    def finish(self, executor) -> list:
        """The outcome recorded (done, stopped or failed, the headline); the results tables."""
        from .results import experiment_rows, headline, summary_tables

        failed = [d for d, s in executor.status.items() if s in ("failed", "blocked")]
        tables = summary_tables(experiment_rows(self.store, self.record), self.record)
        status = "done" if self.ok else ("stopped" if executor.stop_requested else "failed")
        self.record.update(status=status, finished=time.time(), failed_stages=len(failed), headline=headline(tables))
        self.save()
        return tables

    def exit_code(self, executor) -> int:
        """130 when stopped, 1 when a stage failed, else 0."""
        return 130 if executor.stop_requested else (0 if self.ok else 1)


def supersede(store, experiment: dict, warn) -> list:
    """Earlier runs of this spec whose supervisor died (``interrupted``) are continued by this one:
    each is marked ``superseded``, naming this experiment, which lists them (``continues``)."""
    from .liveness import experiment_state

    stages, old = set(experiment["stages"]), []
    for record in store.experiments():
        if record["id"] == experiment["id"] or record.get("name") != experiment["name"]:
            continue
        if experiment_state(record) != "interrupted":
            continue
        full = store.read_experiment(record["id"])
        if full is None or not set(full.get("stages") or []) <= stages:
            continue
        full.update(status="superseded", superseded_by=experiment["id"], finished=full.get("finished") or time.time())
        atomic_write_json(store.experiment_dir(record["id"]) / "experiment.json", full)
        store.upsert_experiment(index_record(full))
        warn(f"{record['id']} (interrupted) is continued by this run: marked superseded")
        old.append(record["id"])
    return old


def tracking_settings(spec, store, experiment_id: str, experiment: dict, warn) -> tuple:
    """(what every stage.json of this run gets under ``tracking``, environment of its workers) for the
    spec's trackers; an MLflow parent run is started here and recorded with the experiment."""
    if not spec.run.trackers:
        return None, {}
    from .trackers import mlflow_environment, start_parent_run

    tracking = {"experiment": experiment_id, "name": spec.name, "tensorboard_dir": str(store.home / "tensorboard"),
                "wandb_dir": str(store.home / "wandb")}
    env = {}
    if "mlflow" in spec.run.trackers:
        env = mlflow_environment(store.home)
        tracking["mlflow_env"] = env
        try:
            tracking["mlflow_parent"] = experiment["mlflow_parent_run"] = start_parent_run(store.home, spec.name, experiment_id)
        except Exception as error:  # the experiment runs without a parent run rather than not at all
            warn(f"warning: MLflow parent run not started ({type(error).__name__}: {error})")
    return tracking, env


def scorer_line(task) -> Optional[str]:
    """``xtreme_udpos v1``: the scorer a table names (`xtui tasks` says which official code it reproduces)."""
    from .scorers import get_scorer, scorer_name

    name = scorer_name(task)
    return f"{name} v{get_scorer(name).version}" if name else None


def targets_info(spec, plan, registry) -> dict:
    """What the results tables need of each target, recorded with the experiment so that views never
    ask the plugins: its headline metric, the metrics its table shows, its target languages."""
    planned = [s.grid.to_json() for s in plan.order() if s.type.evaluates]
    info = {}
    for setting in spec.target.settings():
        task = registry.tasks[setting.task]
        listed = setting.languages if isinstance(setting.languages, list) else []  # "all": every language it has
        # English is evaluated whenever it has test data; it is a target language only when the spec lists it
        languages = list(dict.fromkeys(l["language"] for l in planned if l["task"] == task.name
                                       and (l["language"] != task.train_language or l["language"] in listed)))
        info[task.name] = {"metric": task.metric, "shown": list(task.table_metrics or (task.metric,)),
                           "overall_metric": task.overall_metric or task.metric, "languages": languages,
                           "scorer": scorer_line(task)}
    return info
