"""The Slurm executor on a real one-node Slurm cluster started here (benchmarks/slurm_cluster.py), never a
mock of sbatch: Debian's slurm-wlm and munge, installed with apt-get when missing (root), skipped with
the reason where they cannot be. The cluster has its own SLURM_CONF; a real cluster's is never read."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, XTUI, offline_env

sys.path.insert(0, str(REPO))
from benchmarks.slurm_cluster import SlurmCluster, ensure_installed  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("slurm")]

SPEC = """
name = "sl"
model = "tiny"
seeds = [2]

[intermediate]
tasks = {intermediate}
max_steps = 4
batch_size = 16
learning_rate = 1e-3
max_length = 32

[target]
task = "demo_sentiment"
languages = ["de", "fr"]
max_steps = {steps}
batch_size = 8
learning_rate = 1e-3
max_length = 32

[fewshot]
shots = [0, 4]
shot_sets = 2
steps = 2
batch_size = 4

[run]
checkpoint_every_steps = 200

[run.slurm]
time = "30"
cpus = 1
mem = "2G"
setup = "export XTUI_JOB_SETUP_RAN=1"
"""


@pytest.fixture(scope="module")
def cluster():
    why = ensure_installed()
    if why:
        pytest.skip(f"no Slurm cluster for these tests: {why}")
    cluster = SlurmCluster()
    cluster.start()
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def slurm(cluster, home):
    """The xtui CLI with the test cluster's SLURM_CONF."""

    def run(*args, env=None, timeout=600):
        return subprocess.run([*XTUI, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              env=offline_env(home, **cluster.env, **(env or {})), stdin=subprocess.DEVNULL)

    return run


def _results(home) -> dict:
    """(type, intermediate, language, K, shot set) -> result.json of every finished stage."""
    out = {}
    for path in (home / "stages").glob("*/result.json"):
        result = json.loads(path.read_text())
        grid = result["grid"]
        out[(result["type"], grid["intermediate"], grid.get("language"), grid.get("shots"), grid.get("shot_set"))] = result
    return out


def _stage_files(home, name: str) -> dict:
    """stage type + grid -> the JSON file ``name`` of each stage folder that has one."""
    out = {}
    for path in (home / "stages").glob(f"*/{name}"):
        stage = json.loads((path.parent / "stage.json").read_text())
        grid = stage["grid"]
        out[(stage["type"], grid["intermediate"], grid.get("language"), grid.get("shots"), grid.get("shot_set"))] = \
            json.loads(path.read_text())
    return out


def test_a_grid_through_slurm_gives_the_local_metrics(slurm, write_spec, tmp_path, cluster, home):
    spec = write_spec(SPEC.format(intermediate='["demo_nli"]', steps=6))
    local_home = tmp_path / "local"
    local = subprocess.run([*XTUI, "run", str(spec)], capture_output=True, text=True, cwd=REPO, timeout=600,
                           env=offline_env(local_home), stdin=subprocess.DEVNULL)
    assert local.returncode == 0, local.stderr[-2000:]

    run = slurm("run", spec, "--executor", "slurm")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "experiment " in run.stdout and "done" in run.stdout.splitlines()[-1]
    expected, got = _results(local_home), _results(home)
    # intermediate, target, 3 evaluations (en, de, fr), 2 languages x 2 shot sets
    assert len(got) == len(expected) == 9
    for key, result in expected.items():
        assert got[key].get("metrics") == result.get("metrics"), key
        assert got[key].get("validation") == result.get("validation"), key

    jobs = _stage_files(home, "slurm.json")
    assert set(jobs) == set(got)
    assert all(j["state"] == "COMPLETED" and j["node"] == cluster.node for j in jobs.values())
    # one job per training stage, one for the group of evaluations sharing the target
    assert len({j["job"] for j in jobs.values()}) == 3
    target = jobs[("target", "demo_nli", None, None, None)]
    assert target["dependency"] == [jobs[("intermediate", "demo_nli", None, None, None)]["job"]]
    script = (home / "stages").glob("*/job.sh")
    assert all("export XTUI_JOB_SETUP_RAN=1" in p.read_text() and "-m xtui.worker" in p.read_text() for p in script)
    assert cluster.jobs() == []

    again = slurm("run", spec, "--executor", "slurm")
    assert again.returncode == 0 and "9 reused, 0 to run" in again.stdout, again.stderr
    assert _stage_files(home, "slurm.json") == jobs  # a reused stage is never submitted


def test_a_failing_stage_blocks_exactly_its_dependants(slurm, write_spec, home):
    # intermediate batches of 16 fail as out of memory; the targets' batches of 8 run
    spec = write_spec(SPEC.format(intermediate='["none", "demo_nli"]', steps=4))
    run = slurm("run", spec, "--executor", "slurm", env={"XTUI_FAULT_OOM_ABOVE": 8})
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "intermediate demo_nli seed 2) failed: out of memory" in run.stderr
    results = _results(home)
    assert {k[1] for k in results} == {"none"} and len(results) == 8  # the chain without intermediate training
    jobs = _stage_files(home, "slurm.json")
    blocked = {k: j for k, j in jobs.items() if k[1] == "demo_nli" and k[0] != "intermediate"}
    assert len(blocked) == 8  # its target and the group of 7 evaluations after it
    assert all(j["state"] == "CANCELLED" and j["reason"] == "DependencyNeverSatisfied" for j in blocked.values())
    assert " failed (Slurm cancelled job " in blocked[("target", "demo_nli", None, None, None)]["blocked"]
    assert "8 stages did not run because a stage they depend on did not finish" in run.stderr


def test_stop_cancels_every_job_and_resume_continues_from_the_checkpoint(slurm, write_spec, home, cluster):
    spec = write_spec(SPEC.format(intermediate='["none"]', steps=3000))
    started = slurm("run", spec, "--executor", "slurm", "--detach")
    assert started.returncode == 0, started.stderr
    experiment = started.stdout.strip().splitlines()[-1]

    deadline = time.time() + 300
    while not any('"checkpoint"' in p.read_text() for p in (home / "stages").glob("*/events.jsonl")):
        assert time.time() < deadline, "no checkpoint within 300 s"
        time.sleep(0.5)
    assert len(cluster.jobs()) == 2  # the target runs, its evaluations wait for it
    stopped = slurm("stop", experiment)
    assert stopped.returncode == 0, stopped.stderr
    assert cluster.jobs() == []
    listing = json.loads(slurm("runs", "list", "--json").stdout)
    assert [r["status"] for r in listing] == ["stopped"]

    resumed = slurm("run", "--resume", experiment)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    target = _results(home)[("target", "none", None, None, None)]
    assert target["train"]["resumed_from_step"] >= 200
    jobs = _stage_files(home, "slurm.json")
    assert jobs[("target", "none", None, None, None)]["earlier_jobs"]  # resubmitted, the stopped job recorded
    assert cluster.jobs() == []


def test_resume_after_the_follower_died_adopts_the_queued_jobs_instead_of_resubmitting(slurm, write_spec, home, cluster):
    spec = write_spec(SPEC.format(intermediate='["none"]', steps=3000))
    started = slurm("run", spec, "--executor", "slurm", "--detach")
    assert started.returncode == 0, started.stderr
    experiment = started.stdout.strip().splitlines()[-1]
    deadline = time.time() + 300
    while not any('"step"' in p.read_text() for p in (home / "stages").glob("*/events.jsonl")):
        assert time.time() < deadline, "no training step within 300 s"
        time.sleep(0.5)
    record = json.loads((home / "experiments" / experiment / "experiment.json").read_text())
    os.kill(record["pid"], signal.SIGKILL)  # the follower on the login node dies; its jobs are the cluster's
    queued = {job for job, _ in cluster.jobs()}
    assert len(queued) == 2

    resumed = slurm("run", "--resume", experiment)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    jobs = _stage_files(home, "slurm.json")
    assert {j["job"] for j in jobs.values()} == queued  # the same two jobs: nothing resubmitted
    assert not any(j["earlier_jobs"] for j in jobs.values())
    assert all(j["state"] == "COMPLETED" for j in jobs.values()) and len(_results(home)) == 8
    assert cluster.jobs() == []


def test_a_time_limit_warning_checkpoints_requeues_the_same_job_and_ends_with_the_uninterrupted_metrics(
        slurm, write_spec, tmp_path, home, cluster):
    # Only the warning writes a checkpoint (the periodic ones are further apart than the training), so the stage's
    # resume step is the step at which the job was warned.
    text = SPEC.format(intermediate='["none"]', steps=400).replace("checkpoint_every_steps = 200",
                                                                 "checkpoint_every_steps = 100000")
    spec = write_spec(text)
    local_home = tmp_path / "local"
    local = subprocess.run([*XTUI, "run", str(spec)], capture_output=True, text=True, cwd=REPO, timeout=600,
                           env=offline_env(local_home), stdin=subprocess.DEVNULL)
    assert local.returncode == 0, local.stderr[-2000:]

    follower = subprocess.Popen([*XTUI, "run", str(spec), "--executor", "slurm"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=REPO, env=offline_env(home, **cluster.env),
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        target = None
        while target is None:
            assert time.time() < deadline and follower.poll() is None, "the target never trained"
            for path in (home / "stages").glob("*/events.jsonl"):
                if '"step"' in path.read_text() and json.loads((path.parent / "stage.json").read_text())["type"] == "target":
                    target = path.parent
            time.sleep(0.2)
        job = json.loads((target / "slurm.json").read_text())["job"]
        # what Slurm sends a job `--signal=B:USR1@120` seconds before its time limit
        subprocess.run(["scancel", "--signal=USR1", "--batch", job], env=dict(os.environ, **cluster.env), check=True,
                       capture_output=True, timeout=60)
        out, err = follower.communicate(timeout=600)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, out[-3000:] + err[-3000:]

    events = [json.loads(line) for line in (target / "events.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds.count("start") == 2 and "preempted" in kinds and "stopped" not in kinds, kinds
    preempted = events[kinds.index("preempted")]
    assert preempted["job"] == job and preempted["restart"] == 1 and preempted["signal"] == "SIGUSR1"
    [checkpoint] = [e for e in events if e["event"] == "checkpoint"]
    resumed = next(e for e in events if e["event"] == "resume")
    assert 0 < checkpoint["step"] == resumed["step"] < 400
    assert f"requeued {target.name[:12]}" in out and f"Slurm job {job} back in the queue" in out

    record = json.loads((target / "slurm.json").read_text())
    assert record["job"] == job and not record["earlier_jobs"]  # requeued by Slurm, not resubmitted by xtui
    assert "--signal=B:USR1@120" in (target / "job.sh").read_text()
    expected, got = _results(local_home), _results(home)
    assert got[("target", "none", None, None, None)]["train"]["resumed_from_step"] == checkpoint["step"]
    assert set(got) == set(expected)
    for key, result in expected.items():  # the interrupted, requeued run ends with the uninterrupted one's numbers
        assert got[key].get("metrics") == result.get("metrics"), key
    assert cluster.jobs() == []
