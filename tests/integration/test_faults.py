"""Nothing lost: fault injection with real processes (kill -9 worker / supervisor, stop, resume)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import XTUI, offline_env

pytestmark = pytest.mark.slow

SPEC = """
name = "faults"
model = "tiny"
seeds = [5]

[intermediate]
tasks = ["none"]

[target]
task = "demo_sentiment"
languages = ["de"]
max_steps = {steps}
batch_size = 16
learning_rate = 1e-3
max_length = 48

[fewshot]
shots = [0, 4]
shot_sets = 1
steps = 2
batch_size = 4

[run]
checkpoint_every_steps = 25
"""


def _start(home, spec, *extra):
    return subprocess.Popen([*XTUI, "run", str(spec), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=offline_env(home), start_new_session=True)


def _target_dir(home) -> Path:
    for stage in (home / "stages").glob("*/stage.json"):
        if json.loads(stage.read_text())["type"] == "target":
            return stage.parent
    raise AssertionError("no target stage")


def _wait_for(predicate, timeout=180, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _events(folder: Path) -> list:
    path = folder / "events.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []


def _training(home):
    try:
        folder = _target_dir(home)
    except (AssertionError, FileNotFoundError, json.JSONDecodeError):
        return None
    return folder if any(e["event"] == "step" for e in _events(folder)) else None


def _checkpointed(home):
    try:
        folder = _target_dir(home)
    except (AssertionError, FileNotFoundError, json.JSONDecodeError):
        return None
    steps = [e["step"] for e in _events(folder) if e["event"] == "checkpoint"]
    return folder if steps and steps[-1] >= 50 else None


def _results(home) -> dict:
    out = {}
    for path in (home / "stages").glob("*/result.json"):
        result = json.loads(path.read_text())
        out[(result["type"], result["language"], result["grid"].get("shots"))] = result
    return out


def _no_group_left(pgid: int) -> bool:
    from xtui.liveness import group_alive

    return not group_alive(pgid)


def test_killed_worker_is_failed_then_resumes_to_identical_metrics(tmp_path, write_spec, xtui):
    spec = write_spec(SPEC.format(steps=400))
    reference_home = tmp_path / "reference"
    reference = subprocess.run([*XTUI, "run", str(spec)], capture_output=True, text=True, env=offline_env(reference_home), timeout=600)
    assert reference.returncode == 0, reference.stderr

    home = tmp_path / "runs"
    supervisor = _start(home, spec)
    folder = _wait_for(lambda: _checkpointed(home), what="a checkpoint at step 50")
    running = json.loads((folder / "running.json").read_text())
    os.killpg(running["pgid"], signal.SIGKILL)
    killed_at = time.time()
    out, err = supervisor.communicate(timeout=120)
    assert supervisor.returncode == 1
    assert "killed by SIGKILL" in err
    assert time.time() - killed_at < 10
    assert _no_group_left(running["pgid"])
    shown = xtui("runs", "show", "latest")
    assert "failed" in shown.stdout

    resumed = xtui("run", "--resume", "latest")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    results, expected = _results(home), _results(reference_home)
    target = results[("target", "en", None)]
    assert target["train"]["resumed_from_step"] >= 50
    assert any(e["event"] == "resume" for e in _events(folder))
    assert not (folder / "resume").exists()  # cleaned up after success
    assert target["train"]["final_loss"] == pytest.approx(expected[("target", "en", None)]["train"]["final_loss"], abs=1e-6)
    assert target["validation"] == expected[("target", "en", None)]["validation"]
    for key in (("evaluate", "de", 0), ("evaluate", "en", 0), ("fewshot", "de", 4)):
        assert results[key]["metrics"] == expected[key]["metrics"], key
    listing = json.loads(xtui("runs", "list", "--json").stdout)
    assert [r["status"] for r in listing] == ["done"]


def test_killed_supervisor_is_reconciled_and_its_worker_adopted(tmp_path, write_spec, xtui, home):
    spec = write_spec(SPEC.format(steps=600))
    supervisor = _start(home, spec)
    folder = _wait_for(lambda: _checkpointed(home), what="training under way")
    running = json.loads((folder / "running.json").read_text())
    os.killpg(supervisor.pid, signal.SIGKILL)  # the SSH drop: the supervisor dies, its worker lives on
    supervisor.wait()
    from xtui.liveness import group_alive

    assert group_alive(running["pgid"])
    listing = json.loads(xtui("runs", "list", "--json").stdout)
    assert listing[0]["status"] == "interrupted"
    resumed = xtui("run", "--resume", "latest")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "adopted" in resumed.stdout
    assert "resumed_from_step" not in _results(home)[("target", "en", None)]["train"]  # followed, not restarted
    assert len(_results(home)) == 4
    assert [r["status"] for r in json.loads(xtui("runs", "list", "--json").stdout)] == ["done"]


def test_stop_ends_every_process_and_marks_stages_stopped(write_spec, xtui, home):
    spec = write_spec(SPEC.format(steps=5000))
    supervisor = _start(home, spec)
    folder = _wait_for(lambda: _training(home), what="training under way")
    running = json.loads((folder / "running.json").read_text())
    stopped = xtui("stop", "latest")
    assert stopped.returncode == 0, stopped.stderr
    supervisor.wait(timeout=60)
    assert supervisor.returncode == 130
    assert _no_group_left(running["pgid"])
    assert any(e["event"] == "stopped" for e in _events(folder))
    listing = json.loads(xtui("runs", "list", "--json").stdout)
    assert listing[0]["status"] == "stopped"
    shown = xtui("runs", "show", "latest")
    assert "stopped" in shown.stdout and "failed" not in shown.stdout


def test_stop_a_single_stage_without_supervisor(write_spec, xtui, home):
    spec = write_spec(SPEC.format(steps=5000))
    supervisor = _start(home, spec)
    folder = _wait_for(lambda: _training(home), what="training under way")
    os.killpg(supervisor.pid, signal.SIGKILL)
    supervisor.wait()
    running = json.loads((folder / "running.json").read_text())
    stopped = xtui("stop", "latest", "--stage", folder.name[:10])
    assert stopped.returncode == 0, stopped.stderr
    assert "1 running stage" in stopped.stdout
    assert _no_group_left(running["pgid"])
    from xtui.liveness import stage_state

    assert stage_state(folder)[0] == "stopped"


def test_index_survives_a_writer_killed_mid_write(tmp_path):
    home = tmp_path / "runs"
    writer = (
        "import sys, itertools\n"
        "from xtui.store import RunStore\n"
        "store = RunStore(sys.argv[1])\n"
        "for i in itertools.count():\n"
        "    store.upsert_experiment({'id': f'e{i % 50}', 'name': 'x' * 2000, 'created': i})\n"
    )
    for attempt in range(8):
        process = subprocess.Popen([sys.executable, "-c", writer, str(home)])
        time.sleep(0.4 + 0.13 * attempt)
        process.kill()
        process.wait()
        data = json.loads((home / "index.json").read_text())  # always whole, valid JSON
        assert data["experiments"]
    from xtui.store import RunStore

    assert len(RunStore(home).experiments()) == 50


def test_files_follow_the_umask_and_stay_inside_the_runs_directory(tmp_path, write_spec, home):
    spec = write_spec(SPEC.format(steps=2).replace("shots = [0, 4]", "shots = [0]"))
    command = " ".join([*XTUI, "run", str(spec)])
    result = subprocess.run(["bash", "-c", f"umask 027 && {command}"], capture_output=True, text=True, env=offline_env(home), timeout=300)
    assert result.returncode == 0, result.stderr
    for path in [home / "index.json", *(home / "stages").glob("*/result.json"), *(home / "experiments").glob("*/experiment.json")]:
        assert path.stat().st_mode & 0o777 == 0o640, path
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert all(home in p.parents or p == spec for p in written)
    from xtui.errors import StoreError
    from xtui.store import RunStore

    store = RunStore(home)
    for bad in ("../outside", "/etc/passwd", "a/../../b", "x\x07y"):
        with pytest.raises(StoreError):
            store.experiment_dir(bad)


def test_two_supervisors_on_one_spec_share_the_work_and_both_end_done(home, tmp_path):
    """A second `xtui run` of a spec whose stages a first one is running waits for them ("running
    elsewhere"), then runs what is left or reuses it: nothing trains twice, nothing is called blocked,
    both experiments end done. A plain rerun of an experiment whose supervisor was killed marks the
    old record superseded by the new one, which continues it."""
    spec = tmp_path / "shared.toml"
    spec.write_text(SPEC.format(steps=150))
    first = _start(home, spec)
    target = _wait_for(lambda: _target_dir(home) if (home / "stages").is_dir() and any(
        (home / "stages").glob("*/stage.json")) else None, what="the first supervisor's stages")
    _wait_for(lambda: (target / "events.jsonl").exists() and '"step"' in (target / "events.jsonl").read_text(),
              what="the first supervisor training")
    second = subprocess.run([*XTUI, "run", str(spec)], capture_output=True, text=True, env=offline_env(home),
                            timeout=600, stdin=subprocess.DEVNULL)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, out[-2000:] + err[-2000:]
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert "did not run because" not in second.stderr and "blocked" not in second.stderr
    starts = [json.loads(l) for l in (target / "events.jsonl").read_text().splitlines() if '"start"' in l]
    assert len(starts) == 1, "the target stage trained once"
    records = {r["id"]: r for r in json.loads(subprocess.run(
        [*XTUI, "runs", "list", "--json"], capture_output=True, text=True, env=offline_env(home)).stdout)}
    assert sorted(r["status"] for r in records.values()) == ["done", "done"]

    # the supervisor killed: the rerun supersedes its record and continues it
    killed = _start(home, spec, "--set", "seeds=[6]")
    _wait_for(lambda: any('"step"' in p.read_text() for p in (home / "stages").glob("*/events.jsonl")
                          if json.loads((p.parent / "stage.json").read_text())["seed"] == 6), what="seed 6 training")
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    again = subprocess.run([*XTUI, "run", str(spec), "--set", "seeds=[6]"], capture_output=True, text=True,
                           env=offline_env(home), timeout=600, stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    records = json.loads(subprocess.run([*XTUI, "runs", "list", "--json"], capture_output=True, text=True,
                                        env=offline_env(home)).stdout)
    old = [r for r in records if r["status"] == "superseded"]
    assert len(old) == 1 and old[0]["superseded_by"] in {r["id"] for r in records if r["status"] == "done"}
    assert not [r for r in records if r["status"] == "interrupted"]
