"""The run store: the index (experiments, resolution, atomic writes, concurrent writers)
and rebuilding it from the run directories."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from support.stage_files import old_stage_json
from xtui.errors import StoreError
from xtui.files import atomic_write_json
from xtui.store import RunStore, index_record, xtui_home


def record(id_: str, created: float, name: str = "grid", **extra) -> dict:
    return {"id": id_, "name": name, "status": "done", "created": created, **extra}


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


@pytest.fixture
def filled(store):
    store.upsert_experiment(record("20240101-100000-grid-aaaa", 1.0))
    store.upsert_experiment(record("20240102-100000-other-bbbb", 2.0, name="other"))
    store.upsert_experiment(record("20240103-100000-grid-cccc", 3.0))
    return store


def test_home_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("XTUI_HOME", str(tmp_path / "elsewhere"))
    assert xtui_home() == (tmp_path / "elsewhere").resolve()
    assert RunStore().home == (tmp_path / "elsewhere").resolve()
    assert xtui_home(str(tmp_path / "given")) == (tmp_path / "given").resolve()


def test_empty_store_lists_nothing(store):
    assert store.experiments() == []


def test_upsert_and_list(store):
    store.upsert_experiment(record("b", 2.0))
    store.upsert_experiment(record("a", 1.0))
    assert [r["id"] for r in store.experiments()] == ["a", "b"], "oldest first"
    store.upsert_experiment(record("a", 1.0, status="failed"))
    records = store.experiments()
    assert len(records) == 2
    assert next(r for r in records if r["id"] == "a")["status"] == "failed"


def test_resolve_by_id_prefix_name_and_latest(filled):
    assert filled.resolve_experiment("20240102-100000-other-bbbb")["id"] == "20240102-100000-other-bbbb"
    assert filled.resolve_experiment("20240103")["id"] == "20240103-100000-grid-cccc"
    assert filled.resolve_experiment("grid")["id"] == "20240103-100000-grid-cccc", "a name means its latest run"
    assert filled.resolve_experiment("other")["id"] == "20240102-100000-other-bbbb"
    assert filled.resolve_experiment("latest")["id"] == "20240103-100000-grid-cccc"


def test_resolve_ambiguous_prefix(filled):
    with pytest.raises(StoreError, match="ambiguous") as caught:
        filled.resolve_experiment("202401")
    assert "20240101-100000-grid-aaaa" in str(caught.value) and "\n" not in str(caught.value)


def test_resolve_unknown(filled):
    with pytest.raises(StoreError, match="no experiment 'nothing'"):
        filled.resolve_experiment("nothing")


def test_resolve_in_empty_store(store):
    with pytest.raises(StoreError, match="no experiments"):
        store.resolve_experiment("latest")


def test_resolve_with_empty_index_but_runs_on_disk(store):
    atomic_write_json(store.experiment_dir("x1") / "experiment.json", record("x1", 1.0, stages=[]))
    with pytest.raises(StoreError, match="xtui runs reindex"):
        store.resolve_experiment("latest")


def test_corrupted_index_tells_to_reindex(filled):
    filled.index_path.write_text('{"experiments": {"1": {"id": "trunc', encoding="utf-8")
    with pytest.raises(StoreError) as caught:
        filled.experiments()
    message = str(caught.value)
    assert "`xtui runs reindex`" in message and str(filled.index_path) in message and "\n" not in message
    with pytest.raises(StoreError, match="xtui runs reindex"):
        filled.upsert_experiment(record("new", 9.0))


@pytest.mark.parametrize("bad", ["../up", "a/b", "", ".x", "a..b"])
def test_experiment_dir_refuses_bad_ids(store, bad):
    with pytest.raises(StoreError):
        store.experiment_dir(bad)


@pytest.mark.parametrize("bad", ["abc", "../" + "a" * 16, "A" * 16, "0" * 65])
def test_stage_dir_refuses_bad_hashes(store, bad):
    with pytest.raises(StoreError):
        store.stage_dir(bad)


def test_stage_dir_uses_sixteen_characters(store):
    assert store.stage_dir("0123456789abcdef" * 4).name == "0123456789abcdef"


# --------------------------------------------------------------------------- run directories

def write_stage(store, digest: str, type_: str, status: str = "done", result_hash=None, **result) -> None:
    folder = store.stage_dir(digest)
    labels = {"intermediate": "none", "task": "demo_sentiment", "language": "de", "seed": 1, "shots": 0, "shot_set": None}
    atomic_write_json(folder / "stage.json", old_stage_json(digest, type_, labels, task="demo_sentiment", language="de"))
    if status:
        atomic_write_json(folder / "result.json", {"hash": result_hash or digest, "type": type_, "status": status,
                                                   "task": "demo_sentiment", "language": "de", "labels": labels,
                                                   "metric": "accuracy", **result})


def test_stage_result_needs_done_and_matching_hash(store):
    done, other, mismatched = "a" * 64, "b" * 64, "c" * 64
    write_stage(store, done, "evaluate", metrics={"accuracy": 0.5})
    write_stage(store, other, "evaluate", status="failed")
    write_stage(store, mismatched, "evaluate", result_hash="d" * 64)
    assert store.stage_result(done)["metrics"] == {"accuracy": 0.5}
    assert store.stage_result(other) is None
    assert store.stage_result(mismatched) is None
    assert store.stage_result("e" * 64) is None


def test_reindex_rebuilds_from_run_directories(store):
    target, evaluate, pending = "1" * 64, "2" * 64, "3" * 64
    write_stage(store, target, "target", validation={"accuracy": 0.9}, seconds=4.0)
    write_stage(store, evaluate, "evaluate", metrics={"accuracy": 0.75, "macro_f1": 0.7},
                evaluation={"split": "test"}, seconds=1.5)
    write_stage(store, pending, "fewshot", status=None)
    for id_, created, stages in (("e1", 1.0, [target, evaluate]), ("e2", 2.0, [target, pending])):
        atomic_write_json(store.experiment_dir(id_) / "experiment.json",
                          record(id_, created, stages=stages, curves=[1, 2, 3], spec={"big": "x"}))
    (store.home / "experiments" / "no-record").mkdir()  # a folder without experiment.json is skipped
    store.upsert_experiment(record("stale", 0.5))  # the index is rebuilt, not merged

    assert store.reindex() == (2, 3)
    experiments = store.experiments()
    assert [r["id"] for r in experiments] == ["e1", "e2"]
    assert "curves" not in experiments[0] and "spec" not in experiments[0], "the index keeps summaries only"
    assert experiments[0] == index_record(store.read_experiment("e1"))
    # what views show of each stage comes from its run directory (the index holds experiments only)
    from xtui.results import stage_summary

    summaries = {d: stage_summary(store, d) for d in (target, evaluate, pending)}
    assert set(summaries) == {target, evaluate, pending}
    assert summaries[evaluate]["status"] == "done"
    assert summaries[evaluate]["metric"] == "accuracy" and summaries[evaluate]["value"] == 0.75
    assert summaries[evaluate]["seconds"] == 1.5
    assert summaries[target]["value"] == 0.9, "a training stage's headline is its validation score"
    assert summaries[pending]["status"] == "pending"
    assert store.resolve_experiment("latest")["id"] == "e2"


def test_reindex_repairs_a_corrupted_index(filled):
    atomic_write_json(filled.experiment_dir("e1") / "experiment.json", record("e1", 1.0, stages=[]))
    filled.index_path.write_text("{not json", encoding="utf-8")
    assert filled.reindex() == (1, 0)
    assert [r["id"] for r in filled.experiments()] == ["e1"]


def test_index_writes_are_atomic(store):
    for number in range(30):
        store.upsert_experiment(record(f"exp-{number:03d}", float(number)))
    data = json.loads(store.index_path.read_text(encoding="utf-8"))
    assert len(data["experiments"]) == 30 and set(data) == {"experiments"}  # the index holds experiments only
    leftovers = [p.name for p in store.home.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".index.json.")]
    assert leftovers == []


def _upsert_many(home: str, prefix: str, count: int) -> None:
    store = RunStore(home)
    for number in range(count):
        store.upsert_experiment({"id": f"{prefix}-{number:04d}", "name": prefix, "created": float(number)})


def _increment_many(home: str, count: int) -> None:
    from tinydb import Query

    store = RunStore(home)
    for _ in range(count):
        with store.index(write=True) as db:  # read-modify-write under the lock
            table = db.table("counters")
            row = table.get(Query().name == "n")
            table.upsert({"name": "n", "value": (row["value"] if row else 0) + 1}, Query().name == "n")


def test_two_processes_incrementing_500_times_each_lose_no_update(tmp_path):
    home = str(tmp_path / "runs")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment_many, args=(home, 500)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    with RunStore(home).index() as db:
        assert db.table("counters").all() == [{"name": "n", "value": 1000}]


def test_two_processes_upserting_lose_nothing(tmp_path):
    home = str(tmp_path / "runs")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_upsert_many, args=(home, prefix, 500)) for prefix in ("left", "right")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    ids = [r["id"] for r in RunStore(home).experiments()]
    assert len(ids) == len(set(ids)) == 1000
    assert {i.split("-")[0] for i in ids} == {"left", "right"}
    leftovers = [p.name for p in (tmp_path / "runs").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_an_experiment_whose_supervisor_died_after_its_last_stage_is_done(tmp_path):
    """'running' with its supervisor gone: interrupted while a stage is unfinished, done once every stage
    has its result (the supervisor was killed between the last stage and writing 'done')."""
    import subprocess
    import sys

    from xtui.liveness import experiment_state

    store = RunStore(tmp_path / "runs")
    store.ensure()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stages = ["a1" * 32, "b2" * 32]
    write_stage(store, stages[0], "target")
    write_stage(store, stages[1], "evaluate", status=None)
    experiment = {**record("died", 1.0, stages=stages), "status": "running", "host": __import__("socket").gethostname(),
                  "pid": int(gone.stdout)}
    atomic_write_json(store.experiment_dir("died") / "experiment.json", experiment)
    store.upsert_experiment(index_record(experiment))
    indexed = store.experiments()[0]
    assert experiment_state(indexed) == "interrupted" and experiment_state(indexed, store) == "interrupted"
    write_stage(store, stages[1], "evaluate")
    assert experiment_state(indexed, store) == "done"
