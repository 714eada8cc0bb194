"""The Slurm executor: each stage (or group of small stages sharing a parent) becomes one batch job.

A job runs the same worker command as the local executor (``python -m xtui.worker STAGE_DIR ...``,
a command, so a job queued before an xtui upgrade still starts), after the spec's setup lines. Its
``--dependency=afterok:<parent's job>`` mirrors the plan, so the cluster runs the DAG on its own;
with ``--kill-on-invalid-dep=yes`` Slurm cancels the dependants of a failed job, which this
executor reports as blocked, naming the parent. ``xtui run`` follows the jobs (submitting more as
the queue limit allows) and records each stage's job, state and node in its ``slurm.json``.

Liveness comes from the scheduler (``squeue``, then ``scontrol`` for jobs that left the queue)
and the stage's heartbeat; accounting (``sacct``) is asked only when the others cannot say,
since small clusters often run without it. Headless: no torch, no Textual.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

from .errors import XtuiError
from .executor import LocalExecutor, Running, launch_config, stage_gpus, worker_command
from .files import atomic_write_json, atomic_write_text, read_json

ACTIVE = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
          "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT")
"""Job states in which a job is still the cluster's to run (it stays in ``squeue``)."""
RESUBMIT = ("TIMEOUT", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "DEADLINE")
"""Final job states that are the cluster's doing, not the stage's: the follower submits such a job again."""
QUEUE_MAX_AGE = 2.0
"""Seconds one ``squeue`` answer serves every question about the queue (views poll several times a second)."""

_queue: dict = {"at": 0.0, "jobs": None}


def check_available(source: str) -> None:
    """Refuse a Slurm run where there is no Slurm to submit to (before any record is written)."""
    missing = [p for p in ("sbatch", "squeue", "scontrol", "scancel") if shutil.which(p) is None]
    if missing:
        raise XtuiError(f"{source}: field 'run.executor' is 'slurm' but {', '.join(missing)} not found on PATH "
                        "(run xtui on a Slurm login node, or use executor = 'local')")


def queue(max_age: float = QUEUE_MAX_AGE) -> Optional[dict]:
    """job id -> {state, node, reason} of this user's jobs in the queue; None when squeue cannot answer."""
    now = time.time()
    if _queue["jobs"] is not None and now - _queue["at"] < max_age:
        return _queue["jobs"]
    try:
        done = subprocess.run(["squeue", "--me", "-h", "-o", "%i|%T|%N|%r"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    jobs = {}
    for line in done.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 4:
            jobs[parts[0]] = {"state": parts[1], "node": parts[2] or None, "reason": parts[3]}
    _queue.update(at=now, jobs=jobs)
    return jobs


def finished_job(job: str) -> dict:
    """{state, reason, exit, node} of a job that left the queue: ``scontrol`` (while the controller still
    holds it, MinJobAge), else ``sacct`` where accounting runs, else {} (then the stage's files tell)."""
    try:
        done = subprocess.run(["scontrol", "show", "job", "-o", str(job)], capture_output=True, text=True, timeout=30)
        if done.returncode == 0 and done.stdout.strip():
            fields = dict(item.split("=", 1) for item in done.stdout.split() if "=" in item)
            return {"state": fields.get("JobState"), "reason": fields.get("Reason"), "exit": fields.get("ExitCode"),
                    "node": None if fields.get("NodeList") in (None, "(null)") else fields["NodeList"]}
        if shutil.which("sacct"):
            done = subprocess.run(["sacct", "-n", "-P", "-X", "-j", str(job), "-o", "State,ExitCode,NodeList"],
                                  capture_output=True, text=True, timeout=30)
            line = done.stdout.strip().splitlines()[:1]
            if done.returncode == 0 and line:
                state, code, node = (line[0].split("|") + ["", "", ""])[:3]
                return {"state": state.split()[0], "reason": None, "exit": code, "node": node or None}
    except (OSError, subprocess.SubprocessError):
        pass
    return {}


def job_alive(folder: Path, running: dict) -> bool:
    """A stage's job is alive while the scheduler holds it; when the scheduler cannot be asked (another
    machine, the controller down), while its heartbeat is fresh."""
    from .liveness import HEARTBEAT_TIMEOUT

    jobs = queue()
    if jobs is not None:
        return str(running["slurm_job"]) in jobs and jobs[str(running["slurm_job"])]["state"] in ACTIVE
    try:
        return time.time() - (Path(folder) / "heartbeat").stat().st_mtime < HEARTBEAT_TIMEOUT
    except FileNotFoundError:
        return False


def cancel(jobs: list, timeout: float = 90.0) -> list:
    """scancel the jobs and wait until none is in the queue any more; the ids still there."""
    jobs = [str(j) for j in jobs]
    if not jobs:
        return []
    subprocess.run(["scancel", *jobs], capture_output=True, text=True, timeout=60)
    deadline = time.time() + timeout
    while True:
        current = queue(max_age=0)
        left = [j for j in jobs if current is None or j in current]
        if not left or time.time() > deadline:
            return left
        time.sleep(0.5)


def job_gpus(settings, stage_type: str, processes: int = 1) -> int:
    """The GPUs a job asks for: one per process of a stage that asks for several (``gpus = N`` in its spec
    section), else ``gpus`` of [run.slurm] / [run.slurm.<type>] (0 or unset: a CPU job)."""
    return processes if processes > 1 else int(settings.resources(stage_type)["gpus"] or 0)


def check_gpus(spec, source: str) -> None:
    """``gpus`` of a stage section and of [run.slurm(.<type>)] must agree: the section says how many processes
    (GPUs) a stage runs on, the Slurm section what a job asks for."""
    from .errors import SpecError
    from .executor import SECTIONS

    settings = spec.run.slurm
    for stage_type, section in SECTIONS.items():
        wanted = getattr(spec, section).gpus
        asked = settings.resources(stage_type)["gpus"]
        where = f"run.slurm.{stage_type}.gpus" if getattr(settings, stage_type).gpus is not None else "run.slurm.gpus"
        if wanted > 1 and asked is not None and asked != wanted:
            raise SpecError(f"{source}: field {where!r} ({asked}) disagrees with '{section}.gpus' ({wanted}): a "
                            f"{stage_type} stage runs as {wanted} processes, one per GPU; leave {where} out or make "
                            f"it {wanted}")
        if wanted == 1 and asked is not None and asked > 1:
            raise SpecError(f"{source}: field {where!r} asks for {asked} GPUs per job, but a {stage_type} stage runs "
                            f"on 1 ('{section}.gpus'); set gpus = {asked} in [{section}] to run it on {asked} GPUs")


def job_script(settings, stage_type: str, folders: list, dependencies: list, command: list, env: dict,
               processes: int = 1) -> str:
    """The batch script of one job: sbatch options, the spec's setup lines, then the worker."""
    first = Path(folders[0])
    resources = dict(settings.resources(stage_type), gpus=job_gpus(settings, stage_type, processes))
    options = [f"--job-name=xtui-{stage_type}-{first.name[:12]}", f"--output={first / 'worker.log'}",
               "--open-mode=append", f"--chdir={os.getcwd()}", "--nodes=1", "--ntasks=1"]
    for name, flag in (("partition", "partition"), ("account", "account"), ("qos", "qos")):
        if getattr(settings, name):
            options.append(f"--{flag}={getattr(settings, name)}")
    if resources["time"]:
        options.append(f"--time={resources['time']}")
    if resources["cpus"]:
        options.append(f"--cpus-per-task={resources['cpus']}")
    if resources["mem"]:
        options.append(f"--mem={resources['mem']}")
    if resources["gpus"]:
        options.append(f"--gres=gpu:{resources['gpus']}")
    if dependencies:
        options += [f"--dependency=afterok:{':'.join(map(str, dependencies))}", "--kill-on-invalid-dep=yes"]
    if settings.warning:
        options.append(f"--signal=B:USR1@{settings.warning}")  # to the worker itself: the script execs it
    if settings.warning and settings.requeue:
        options.append("--requeue")
    options += list(settings.sbatch)
    lines = ["#!/bin/bash", *(f"#SBATCH {option}" for option in options), ""]
    if settings.setup.strip():
        lines += [settings.setup.rstrip(), ""]
    env = {**env, "XTUI_SLURM_REQUEUE": settings.requeue if settings.warning else 0}
    lines += [f"export {key}={shlex.quote(str(value))}" for key, value in env.items()]
    if processes == 1:
        lines.append("exec " + shlex.join(map(str, command)))  # the worker gets Slurm's signals itself
    else:
        # accelerate launch does not pass SIGUSR1 on (it would end it): the warning goes to its workers
        lines += [shlex.join(map(str, command)) + " &", "launcher=$!",
                  "trap 'pkill -USR1 -P $launcher' USR1", "trap 'kill -TERM $launcher' TERM",
                  "while wait $launcher; code=$?; kill -0 $launcher 2>/dev/null; do :; done", "exit $code"]
    return "\n".join(lines) + "\n"


def submit(script: Path) -> str:
    """sbatch a script; its job id."""
    try:
        done = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as error:
        raise XtuiError(f"sbatch {script} failed: {error}") from None
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise XtuiError(f"sbatch {script} refused the job: {why[0]}")
    _queue["jobs"] = None  # an answer from before this job is no answer about it
    return done.stdout.strip().split(";")[0]


class SlurmJob:
    """A submitted job as the executor follows it: ``poll()`` is None while it is in the queue."""

    def __init__(self, job: str):
        self.job = str(job)
        self.pid = None
        self.returncode: Optional[int] = None
        self.final: dict = {}

    def poll(self) -> Optional[int]:
        if self.returncode is not None:
            return self.returncode
        jobs = queue()
        if jobs is None or (self.job in jobs and jobs[self.job]["state"] in ACTIVE):
            return None  # a scheduler that does not answer has not ended the job
        final = finished_job(self.job)
        if final.get("state") in ACTIVE:
            return None  # it left this squeue answer but not the queue (the answer was older than the job)
        self.final = final
        code = (self.final.get("exit") or "").split(":")  # "exit code:signal", as scontrol and sacct tell it
        if len(code) == 2 and code[0] == "0" and code[1].isdigit() and int(code[1]):
            self.returncode = -int(code[1])  # killed by that signal (a worker ends with exit codes of its own)
        else:
            self.returncode = int(code[0]) if code[0].isdigit() else -1
        return self.returncode

    def wait(self) -> int:
        while self.poll() is None:
            time.sleep(1.0)
        return self.returncode


class SlurmExecutor(LocalExecutor):
    """Runs a plan as batch jobs: a stage is submitted once its parent is submitted (a dependency on its
    job) or finished; at most ``run.slurm.max_jobs`` of this run's jobs are in the queue at once."""

    RUNS_AFTER = ("done", "reused", "queued", "running")

    def __init__(self, *args, settings=None, **kwargs):
        kwargs.setdefault("poll", 1.0)
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.jobs: dict = {}
        """stage hash -> the job id that runs it (this run's submissions and the jobs it adopted)."""
        self.resubmitted: dict = {}
        """stage hash -> how many times this follower submitted it again after the cluster ended its job."""

    # -- adopting the jobs of an earlier supervisor ------------------------------------------------------
    @staticmethod
    def _adopt_key(running: dict):
        return str(running["slurm_job"])

    def _adopted(self, key, stages: list):
        for stage in stages:
            self.jobs[stage.hash] = key
        return SlurmJob(key)

    @staticmethod
    def _adopted_what(key) -> str:
        return f"Slurm job {key} (still in the queue)"

    # -- submitting ------------------------------------------------------------------------------------------
    def _free_slots(self) -> list:
        return [None] * max(0, self.settings.max_jobs - len(self.running))

    def _need(self, group: list) -> int:
        return 1  # a place in the queue: the job asks for its GPUs itself

    def processes(self, group: list, slots: list) -> int:
        return stage_gpus(group[0])

    def _start(self, group: list, folders: list, slots: list, port: int) -> tuple:
        stage_type = group[0].type.value
        processes = self.processes(group, slots)
        gpus = job_gpus(self.settings, stage_type, processes)
        # The GPUs Slurm gives the job (it sets CUDA_VISIBLE_DEVICES): "0" for one, all of them for several.
        gpu = None if not gpus else ("0" if processes == 1 else "all")
        atomic_write_text(folders[0] / "launch.yaml", launch_config(gpu, port, processes))
        command, launcher_env = worker_command(folders, gpu, folders[0] / "launch.yaml", processes)
        if self.settings.python:
            command = [self.settings.python, *command[1:]]
        parent = group[0].parent
        dependencies = [self.jobs[parent]] if parent and self.status.get(parent) in ("queued", "running") else []
        script = folders[0] / "job.sh"
        atomic_write_text(script, job_script(self.settings, stage_type, folders, dependencies, command,
                                             self.worker_env(gpu, launcher_env), processes))
        job = submit(script)
        for stage, folder in zip(group, folders):
            self.jobs[stage.hash] = job
            record = read_json(folder / "slurm.json") or {}
            atomic_write_json(folder / "slurm.json", {
                "job": job, "state": "PENDING", "node": None, "submitted": time.time(), "dependency": dependencies,
                "script": str(script), "group": [s.hash for s in group],
                "earlier_jobs": record.get("earlier_jobs", []) + ([record["job"]] if record.get("job") else [])})
        after = f" after job {dependencies[0]}" if dependencies else ""
        return SlurmJob(job), {"slurm_job": job}, f"Slurm job {job}{after}"

    # -- following ---------------------------------------------------------------------------------------------
    def _ended(self, running: Running) -> bool:
        ended = running.process.poll() is not None
        self._record_state(running)
        return ended

    def _record_state(self, running: Running) -> None:
        """The job's state and node in each of its stages' slurm.json, when they changed."""
        job = running.process
        now = job.final if job.returncode is not None else (queue() or {}).get(job.job)
        if not now:
            return
        for stage in running.stages:
            path = self.store.stage_dir(stage.hash) / "slurm.json"
            record = read_json(path) or {"job": job.job}
            update = {k: v for k, v in now.items() if v and record.get(k) != v}
            if update and record.get("job") == job.job:
                atomic_write_json(path, {**record, **update})

    def _finish(self, running: Running) -> None:
        """As the local executor, but a stage whose job Slurm cancelled for its parent is blocked, not failed;
        a job that ended for the cluster's reasons (time limit, preemption, a node failure) is submitted again,
        at most ``requeue`` times per stage, and its stages continue from their checkpoints."""
        final = running.process.final
        if self._resubmit(running):
            super()._finish(running)  # the pending stages are left alone there; the rest as usual
            return
        for stage in running.stages:
            folder = self.store.stage_dir(stage.hash)
            if self.store.stage_result(stage.hash) or (folder / "events.jsonl").is_file():
                continue
            parent = self.status.get(stage.parent) if stage.parent else None
            if self.stop_requested:
                continue
            if final.get("reason") == "DependencyNeverSatisfied" and parent in ("pending", "queued", "running"):
                # cancelled with a parent that is submitted again: wait for the new job
                self.status[stage.hash] = "pending"
                self.on_status(stage, "resubmitted", f"its parent {stage.parent[:12]} is submitted again")
                continue
            if final.get("reason") == "DependencyNeverSatisfied" or parent in ("failed", "blocked", "stopped"):
                cause = f"parent {stage.parent[:12]} {parent or 'did not finish'}"
                cause += f" (Slurm cancelled job {running.process.job}: {final.get('reason') or 'dependency'})"
                (folder / "running.json").unlink(missing_ok=True)
                self.status[stage.hash] = "blocked"
                self.on_status(stage, "blocked", cause)
                self._note(folder, blocked=cause)
        super()._finish(running)

    def _resubmit(self, running: Running) -> bool:
        """Put the unfinished stages of a job that the cluster ended (``RESUBMIT`` states) back to pending
        (the local executor's finish then leaves them alone, and releases the job's locks)."""
        state = (running.process.final.get("state") or "").split(" ")[0]
        left = [s for s in running.stages if not self.store.stage_result(s.hash)]
        if self.stop_requested or state not in RESUBMIT or not left:
            return False
        if any(self.resubmitted.get(s.hash, 0) >= self.settings.requeue for s in left):
            return False
        for stage in left:
            self.resubmitted[stage.hash] = self.resubmitted.get(stage.hash, 0) + 1
            self.status[stage.hash] = "pending"
            self._note(self.store.stage_dir(stage.hash), ended=state)
            self.on_status(stage, "resubmitted", f"Slurm job {running.process.job} ended {state}: submitting it "
                                                 f"again ({self.resubmitted[stage.hash]} of {self.settings.requeue}), "
                                                 "from its checkpoint")
        return True

    def _note(self, folder: Path, **values) -> None:
        record = read_json(folder / "slurm.json") or {}
        atomic_write_json(folder / "slurm.json", {**record, **values})

    def _stop_all(self) -> None:
        """scancel every job of this run and wait until the queue has none of them."""
        cancel([r.process.job for r in self.running])
        for running in list(self.running):
            if running.process.poll() is None:
                running.process.returncode = -1  # still in the queue after scancel's wait: stopped all the same
            self.running.remove(running)
            self._finish(running)


def slurm_jobs(store, record: dict, stage_prefix=None) -> dict:
    """job id -> stage hashes of an experiment's jobs still in the queue."""
    jobs: dict = {}
    for digest in record.get("stages", []):
        if stage_prefix and not digest.startswith(stage_prefix):
            continue
        folder = store.stage_dir(digest)
        running = read_json(folder / "running.json")
        if running and running.get("slurm_job") and job_alive(folder, running):
            jobs.setdefault(str(running["slurm_job"]), []).append(digest)
    return jobs

