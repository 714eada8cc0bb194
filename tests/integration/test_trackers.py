"""Trackers (xtui/trackers.py) with the real libraries, offline: TensorBoard event files, a W&B
offline run folder and a local MLflow store, each read back after a real `xtui run` (trackers
checked at plan time: tests/unit/test_trackers.py)."""

from __future__ import annotations

import glob
import json
import struct
from pathlib import Path

import pytest

SPEC = """
name = "tracked"
model = "tiny"
[intermediate]
tasks = ["none"]
[target]
task = "demo_sentiment"
languages = ["de"]
max_steps = 4
batch_size = 8
[fewshot]
shots = [0]
[run]
trackers = ["tensorboard", "wandb", "mlflow"]
"""


def _wandb_records(path: Path):
    """The records of a W&B offline run file (`run-<id>.wandb`: a LevelDB-style log of protobuf records)."""
    from wandb.proto import wandb_internal_pb2

    data, position, buffered = path.read_bytes(), 7, b""
    assert data[:4] == b":W&B"
    while position + 7 <= len(data):
        left = 32768 - position % 32768
        if left < 7:
            position += left
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + 7])
        if length == 0 and kind == 0:
            position += left
            continue
        chunk = data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(buffered + chunk if kind == 4 else chunk)
            buffered = b""
            yield record
        elif kind in (2, 3):
            buffered += chunk


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)  # newer W&B versions write the nested form


@pytest.mark.slow
def test_every_tracker_gets_each_stages_steps_evaluations_and_config(xtui, write_spec, home):
    pytest.importorskip("tensorboard")
    pytest.importorskip("wandb")
    pytest.importorskip("mlflow")
    spec = write_spec(SPEC)
    done = xtui("run", spec, env={"WANDB_MODE": "offline", "WANDB_SILENT": "true"}, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    experiment = json.loads(next((home / "experiments").iterdir()).joinpath("experiment.json").read_text())
    target = next(d for d in (home / "stages").iterdir()
                  if json.loads((d / "stage.json").read_text())["type"] == "target")
    assert "could not start" not in (target / "events.jsonl").read_text()

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    board = EventAccumulator(str(home / "tensorboard" / experiment["id"] / target.name[:12]))
    board.Reload()
    assert [e.step for e in board.Scalars("train/loss")] == [1, 2, 3, 4]
    assert "validation/accuracy" in board.Tags()["scalars"]

    files = glob.glob(str(home / "wandb" / "wandb" / "offline-run-*" / "run-*.wandb"))
    assert len(files) == len(experiment["stages"]), "an offline W&B run per stage"
    by_stage = {}
    for path in files:
        records = list(_wandb_records(Path(path)))
        [run] = [r.run for r in records if r.WhichOneof("record_type") == "run"][:1]
        assert run.run_group == experiment["id"] and run.project == "tracked"
        by_stage[run.display_name[:12]] = records
    records = by_stage[target.name[:12]]
    history = [{_key(i): json.loads(i.value_json) for i in r.history.item} for r in records
               if r.WhichOneof("record_type") == "history"]
    assert [h["_step"] for h in history if "train/loss" in h] == [1, 2, 3, 4]
    config = {_key(u): json.loads(u.value_json) for r in records if r.WhichOneof("record_type") == "config"
              for u in r.config.update}
    assert config.get("training.max_steps") == 4 and config.get("stage", "").startswith(target.name)

    import os

    import mlflow

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    mlflow.set_tracking_uri(f"file:{home / 'mlruns'}")
    stored = mlflow.search_runs(experiment_names=["tracked"], output_format="list")
    parent = [r for r in stored if r.info.run_name == experiment["id"]]
    assert len(parent) == 1 and experiment["mlflow_parent_run"] == parent[0].info.run_id
    children = [r for r in stored if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    assert len(children) == len(experiment["stages"]), "one MLflow run per stage, under the experiment's"
    trained = next(r for r in children if r.data.tags["xtui.stage"].startswith(target.name))  # folders: 16 characters
    history = mlflow.MlflowClient().get_metric_history(trained.info.run_id, "train/loss")
    assert [m.step for m in history] == [1, 2, 3, 4]
