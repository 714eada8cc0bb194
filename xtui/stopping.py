"""``xtui stop``: end an experiment's workers, whole process groups, escalating signals."""

from __future__ import annotations

import os
import signal
import socket
import time

from .errors import XtuiError
from .files import atomic_write_json, read_json
from .liveness import group_alive, pid_alive, worker_alive
from .supervision import ESCALATION, escalate


def running_groups(store, record: dict, stage_prefix=None) -> dict:
    """pgid -> stage hashes of the experiment's live workers."""
    groups: dict = {}
    matched = False
    for digest in record.get("stages", []):
        if stage_prefix and not digest.startswith(stage_prefix):
            continue
        matched = True
        folder = store.stage_dir(digest)
        running = read_json(folder / "running.json")
        if running and worker_alive(folder, running):
            groups.setdefault(int(running["pgid"]), []).append(digest)
    if stage_prefix and not matched:
        raise XtuiError(f"--stage {stage_prefix!r}: no stage of {record['id']} has a hash starting with it")
    return groups


def stop_experiment(store, record: dict, stage_prefix=None) -> list:
    if record.get("executor") == "slurm":
        return _stop_slurm(store, record, stage_prefix)
    groups = running_groups(store, record, stage_prefix)
    supervisor = record.get("pid") if record.get("host") == socket.gethostname() else None
    supervisor_alive = bool(supervisor) and record.get("status") == "running" and pid_alive(int(supervisor))
    if stage_prefix is None and supervisor_alive:
        # The supervisor stops its workers itself and records the experiment as stopped.
        _stop_supervisor(int(supervisor), grace=sum(wait for _, wait in ESCALATION) + 5)
    escalate(list(groups))
    left = [g for g in groups if group_alive(g)]
    if left:
        raise XtuiError(f"process groups {', '.join(map(str, left))} did not end; check them with `ps -g`")
    stages = sum(len(v) for v in groups.values())
    if stage_prefix is None and not supervisor_alive and record.get("status") == "running":
        _mark_stopped(store, record)
    if not groups and not supervisor_alive:
        return [f"nothing was running in {record['id']}"]
    what = f"stage {stage_prefix}" if stage_prefix else record["id"]
    return [f"stopped {what}: {stages} running stage(s) in {len(groups)} worker process group(s)"]


def _stop_slurm(store, record: dict, stage_prefix=None) -> list:
    """A Slurm experiment: its supervisor (which scancels its jobs itself) is stopped as a local one's, then
    any job of it still in the queue (no supervisor, or one stage) is cancelled here."""
    from .slurm import cancel, slurm_jobs

    supervisor = record.get("pid") if record.get("host") == socket.gethostname() else None
    supervisor_alive = bool(supervisor) and record.get("status") == "running" and pid_alive(int(supervisor))
    if stage_prefix is None and supervisor_alive:
        _stop_supervisor(int(supervisor), grace=120.0)
    jobs = slurm_jobs(store, record, stage_prefix)
    left = cancel(list(jobs))
    if left:
        raise XtuiError(f"Slurm jobs {', '.join(left)} are still in the queue after scancel; check them with squeue")
    current = store.read_experiment(record["id"]) or record
    if stage_prefix is None and current.get("status") == "running" and not (supervisor and pid_alive(int(supervisor))):
        _mark_stopped(store, current)  # no supervisor recorded the outcome
    if not jobs and not supervisor_alive:
        return [f"nothing was running in {record['id']}"]
    what = f"stage {stage_prefix}" if stage_prefix else record["id"]
    return [f"stopped {what}" + (f": cancelled Slurm jobs {', '.join(jobs)}" if jobs else "")]


def _stop_supervisor(pid: int, grace: float) -> None:
    """SIGINT to a supervisor (it stops its workers and records the outcome); SIGKILL after ``grace``."""
    os.kill(pid, signal.SIGINT)
    deadline = time.time() + grace
    while time.time() < deadline and pid_alive(pid):
        time.sleep(0.2)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


def _mark_stopped(store, record: dict) -> None:
    """With no supervisor left, the stop command records the outcome itself."""
    from .store import index_record

    path = store.experiment_dir(record["id"]) / "experiment.json"
    experiment = read_json(path) or record
    experiment.update(status="stopped", finished=time.time())
    atomic_write_json(path, experiment)
    store.upsert_experiment(index_record(experiment))
