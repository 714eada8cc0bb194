"""The local executor: runs a plan's stages as Accelerate subprocesses, in dependency order.

One worker process runs either one training stage (intermediate / target) or a group of
small stages (zero-shot evaluations and few-shot shot sets) that share a parent
checkpoint, so a model load and a process start are paid once per group. Every worker
runs in its own process group; stopping ends the whole group (SIGINT, SIGTERM, SIGKILL).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .files import EventTail, atomic_write_json, atomic_write_text, read_json
from .plan import Plan
from .stage import StageType
from .store import RunStore

MAX_GROUP = 64


def visible_gpus() -> list:
    """GPU ids this process may use, without importing torch."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    if value is not None:
        return [g for g in value.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        output = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(output.splitlines()) if line.startswith("GPU ")]


def cpu_processes() -> int:
    """``XTUI_CPU_PROCESSES=N``: on a machine without GPUs, run every stage as N CPU processes (gloo), to
    exercise several-process stages without GPUs; 1 when unset or not a positive number."""
    value = os.environ.get("XTUI_CPU_PROCESSES", "").strip()
    return int(value) if value.isdigit() and int(value) >= 1 else 1


def stage_gpus(stage) -> int:
    """The GPUs (processes) a stage asks for: ``gpus`` of its spec section, recorded in its ``run`` (not hashed)."""
    return int((stage.run or {}).get("gpus") or 1)


def launch_config(gpu: Optional[str], port: int, processes: int = 1) -> str:
    """An explicit Accelerate config: a user's default config file never applies.

    ``gpu``: the GPU ids the worker may use, comma-separated ("0", "2,3", "all"), or None for the CPU.
    Several processes on the CPU are ``MULTI_CPU`` with ``use_cpu: false``: with ``use_cpu: true`` (or
    ``--cpu``) ``accelerate launch`` silently starts a single process."""
    if processes > 1:
        distributed = "MULTI_GPU" if gpu is not None else "MULTI_CPU"
    else:
        distributed = "'NO'"
    lines = [
        "compute_environment: LOCAL_MACHINE",
        f"distributed_type: {distributed}",
        "num_machines: 1",
        f"num_processes: {processes}",
        "machine_rank: 0",
        f"main_process_port: {port}",
        "mixed_precision: 'no'",
        f"use_cpu: {'false' if gpu is not None or processes > 1 else 'true'}",
        f"gpu_ids: '{gpu if gpu is not None else 'all'}'",
        "rdzv_backend: static",
        "same_network: true",
        "main_training_function: main",
        "downcast_bf16: 'no'",
        "enable_cpu_affinity: false",
        "tpu_use_cluster: false",
        "tpu_use_sudo: false",
    ]
    return "\n".join(lines) + "\n"


def worker_command(folders: list, gpu: Optional[str], config_path: Path, processes: int = 1) -> tuple:
    """(command, environment) of a worker of ``processes`` processes.

    ``accelerate launch`` with one process only sets a few environment variables before it starts
    the script, at the price of a second Python start that imports torch (seconds of CPU per stage
    group; see benchmarks/launch_overhead.py). So one-process workers start directly with those
    variables; ``XTUI_LAUNCHER=accelerate`` goes through ``accelerate launch`` and the written
    config instead. Several processes always go through it: ``--multi_gpu --num_processes N``
    (torchrun), on GPUs or, with gloo, on the CPU (the worker then makes ``Accelerator(cpu=True)``)."""
    worker = ["-m", "xtui.worker", *map(str, folders)]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_path)]
    common = ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    if processes > 1:
        return launch + ["--multi_gpu", "--num_processes", str(processes), *common] + worker, {}
    if os.environ.get("XTUI_LAUNCHER", "direct") == "accelerate":
        command = launch + ["--num_processes", "1", *common]
        return command + (["--cpu"] if gpu is None else []) + worker, {}
    # what accelerate's simple launcher sets for one process (accelerate.utils.launch.prepare_simple_launcher_cmd_env)
    env = {"ACCELERATE_USE_CPU": str(gpu is None), "ACCELERATE_MIXED_PRECISION": "no", "ACCELERATE_DYNAMO_BACKEND": "NO"}
    return [sys.executable, *worker], env


def gpu_range(gpus: list) -> str:
    """``0-7`` for consecutive ids, else ``0,2,5``."""
    if all(g.isdigit() for g in gpus) and len(gpus) > 2 and [int(g) for g in gpus] == list(
            range(int(gpus[0]), int(gpus[0]) + len(gpus))):
        return f"{gpus[0]}-{gpus[-1]}"
    return ",".join(gpus)


SECTIONS = {"intermediate": "intermediate", "target": "target", "fewshot": "fewshot", "evaluate": "target"}
"""The spec section whose ``gpus`` a stage type takes (evaluations run as wide as their target)."""


def widest(plan) -> dict:
    """Spec section -> the most GPUs one of the plan's stages of it asks for (sections that ask for more than 1)."""
    found: dict = {}
    for stage in plan.order():
        section = SECTIONS[stage.type.value]
        if stage_gpus(stage) > 1:
            found[section] = max(found.get(section, 1), stage_gpus(stage))
    return found


def check_local_gpus(plan, source: str, gpus: Optional[list] = None) -> None:
    """Refuse a local run whose stages ask for more GPUs than this machine has (before anything runs);
    on a machine without GPUs, ``XTUI_CPU_PROCESSES`` runs them as CPU processes instead."""
    from .errors import SpecError

    gpus = visible_gpus() if gpus is None else gpus
    for section, wanted in widest(plan).items():
        if not gpus and cpu_processes() == 1:
            raise SpecError(f"{source}: field '{section}.gpus' asks for {wanted} GPUs per stage but this machine has "
                            f"none (CUDA_VISIBLE_DEVICES / nvidia-smi); set it to 1, or XTUI_CPU_PROCESSES={wanted} "
                            f"to run each stage as {wanted} CPU processes")
        if gpus and wanted > len(gpus):
            raise SpecError(f"{source}: field '{section}.gpus' asks for {wanted} GPUs per stage but this machine has "
                            f"{len(gpus)} (GPUs {gpu_range(gpus)}); valid: 1 to {len(gpus)}")


def capacity(plan, gpus: Optional[list] = None) -> str:
    """What the plan says of how its stages share this machine (the local executor)."""
    gpus = visible_gpus() if gpus is None else gpus
    if not gpus:
        processes = cpu_processes()
        told = "runs 1 stage at a time on the CPU"
        return told + (f", each as {processes} processes (XTUI_CPU_PROCESSES)" if processes > 1 else "")
    told = f"runs up to {len(gpus)} stage{'s' if len(gpus) > 1 else ''} at once on GPU{'s' if len(gpus) > 1 else ''} " \
           f"{gpu_range(gpus)}"
    wide = [f"{section} stages take {n} GPUs each ({len(gpus) // n} at once)" for section, n in widest(plan).items()
            if n <= len(gpus)]
    return told + (f"; {', '.join(wide)}" if wide else "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Running:
    stages: list
    process: object
    """A ``subprocess.Popen``, or an ``Adopted`` worker that another supervisor started."""
    slots: Optional[list]
    """The GPU ids it holds (``[None]``: the CPU); None for an adopted worker (held as the CPU slot)."""
    port: Optional[int] = None
    """Its rendezvous port: no two running workers of this executor share one."""
    tails: dict = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    locks: list = field(default_factory=list)


class Adopted:
    """A live worker left by a supervisor that died: followed through its process group."""

    def __init__(self, pgid: int):
        self.pid = pgid
        self.returncode: Optional[int] = None

    def poll(self) -> Optional[int]:
        from .liveness import group_alive

        if self.returncode is None and not group_alive(self.pid):
            self.returncode = -1
        return self.returncode

    def wait(self) -> int:
        while self.poll() is None:
            time.sleep(0.2)
        return self.returncode


class LocalExecutor:
    """Runs the pending stages of a plan; ``on_event(stage, event)`` sees every worker event."""

    RUNS_AFTER = ("done", "reused")
    """A stage is started once its parent is in one of these (the Slurm executor adds queued and running)."""

    def __init__(self, store: RunStore, plan: Plan, on_event: Callable, on_status: Callable, poll: float = 0.2,
                 stage_extra: Optional[dict] = None, env: Optional[dict] = None):
        self.stage_extra = dict(stage_extra or {})
        """Per-run fields (``xtui.stage.PER_RUN``) written into every stage.json this run launches."""
        self.env = dict(env or {})
        self.store = store
        self.plan = plan
        self.on_event = on_event
        self.on_status = on_status
        self.poll = poll
        self.status: dict = {}
        self.running: list = []
        self.stop_requested = False
        self.failures: dict = {}
        self.elsewhere: dict = {}
        """Stages another live supervisor holds: waited on, never counted as blocked."""
        self.slots: Optional[list] = None
        """The GPUs (or [None]: the CPU) workers run on, found when the run starts."""
        self.passed_over: dict = {}
        """Stage hash of a ready group waiting for more free GPUs -> how many groups started before it since."""

    # -- preparing stage directories ---------------------------------------------------------
    def prepare(self) -> None:
        from .liveness import worker_alive

        adopt: dict = {}
        for stage in self.plan.order():
            folder = self.store.stage_dir(stage.hash)
            folder.mkdir(parents=True, exist_ok=True)
            if self.store.stage_result(stage.hash):
                self.status[stage.hash] = "reused"
                continue
            self.status[stage.hash] = "pending"
            running = read_json(folder / "running.json")
            if running and worker_alive(folder, running):
                # A worker of a supervisor that died (or of another one) still runs it: follow it.
                adopt.setdefault(self._adopt_key(running), []).append(stage)
                continue
            self.write_stage(stage)
        for key, stages in adopt.items():
            running = Running(stages, self._adopted(key, stages), None)
            for stage in stages:
                running.tails[stage.hash] = EventTail(self.store.stage_dir(stage.hash) / "events.jsonl")
                self.status[stage.hash] = "queued"
                self.on_status(stage, "adopted", self._adopted_what(key))
            self.running.append(running)

    # -- what runs a stage: a process group here (the Slurm executor: a batch job) -------------------------
    @staticmethod
    def _adopt_key(running: dict):
        """What identifies the live worker of a running.json (stages sharing it are adopted together)."""
        return int(running["pgid"])

    def _adopted(self, key, stages: list):
        return Adopted(key)

    @staticmethod
    def _adopted_what(key) -> str:
        return f"worker process group {key}"

    def write_stage(self, stage) -> None:
        """stage.json with this run's folders (the worker infers nothing from the store's layout)."""
        run = {"cache_dir": str(self.store.home / "cache" / "features"), **self.stage_extra}
        if stage.parent:
            run["parent_dir"] = str(self.store.stage_dir(stage.parent))
        atomic_write_json(self.store.stage_dir(stage.hash) / "stage.json", stage.with_run(**run).to_json())

    # -- scheduling --------------------------------------------------------------------------------
    def _ready(self) -> list:
        ready = []
        for stage in self.plan.order():
            if self.status[stage.hash] != "pending":
                continue
            parent_status = self.status.get(stage.parent) if stage.parent else "done"
            if parent_status in self.RUNS_AFTER:
                ready.append(stage)
            elif parent_status in ("failed", "stopped", "blocked"):
                self.status[stage.hash] = "blocked"
                self.on_status(stage, "blocked", f"parent {stage.parent[:12]} {parent_status}")
        return ready

    def _groups(self) -> list:
        """The groups that could start now, in plan order: a training stage alone, the grouped stages
        of one parent that ask for the same number of GPUs together."""
        groups, seen = [], set()
        ready = self._ready()
        for first in ready:
            if first.hash in seen:
                continue
            if not first.type.grouped:
                group = [first]
            else:
                group = [s for s in ready if s.type.grouped and s.parent == first.parent
                         and stage_gpus(s) == stage_gpus(first)]
                # Zero-shot evaluations first: they are cheap and fill the K=0 table early.
                group.sort(key=lambda s: (s.type is not StageType.EVALUATE, s.grid.language or "", s.grid.shots or 0))
                group = group[:MAX_GROUP]
            seen.update(s.hash for s in group)
            groups.append(group)
        return groups

    def _need(self, group: list) -> int:
        """Slots a group takes: its GPUs (one CPU slot on a machine without GPUs)."""
        return 1 if self.slots == [None] else stage_gpus(group[0])

    def _next_group(self, free: int = 1) -> list:
        """The first group (in plan order) that fits in ``free`` slots. A group waiting for more GPUs than are
        free lets later, narrower groups start, but only ``len(slots)`` times: then nothing else starts until
        it fits (so a 4-GPU stage is not starved by a stream of 1-GPU ones)."""
        for group in self._groups():
            need = self._need(group)
            if need > len(self.slots or [None]):
                for stage in group:  # check_local_gpus refuses such plans; a stage.json edited since is failed here
                    self.status[stage.hash] = "failed"
                    self.failures[stage.hash] = f"asks for {need} GPUs; this machine has {len(self.slots)}"
                    self.on_status(stage, "failed", self.failures[stage.hash])
                continue
            if need <= free:
                self.passed_over.pop(group[0].hash, None)
                return group
            waited = self.passed_over.get(group[0].hash, 0)
            if waited >= len(self.slots or [None]):
                return []
            self.passed_over[group[0].hash] = waited + 1
            return self._fitting(free, group[0].hash)
        return []

    def _fitting(self, free: int, waiting: str) -> list:
        """A later group that fits while ``waiting`` waits (it was counted as passed over once already)."""
        for group in self._groups():
            if group[0].hash != waiting and self._need(group) <= free:
                return group
        self.passed_over[waiting] -= 1  # nothing started before it after all
        return []

    def _lock(self, group: list) -> tuple:
        """Take each stage's lock; a stage another live supervisor holds is left to it."""
        from filelock import FileLock, Timeout

        taken, locks = [], []
        for stage in group:
            lock = FileLock(str(self.store.stage_dir(stage.hash) / "stage.lock"), timeout=0)
            try:
                lock.acquire()
            except Timeout:
                self.status[stage.hash] = "elsewhere"
                self.elsewhere[stage.hash] = stage
                self.on_status(stage, "elsewhere", "another xtui supervisor is running this stage; waiting for it")
                continue
            taken.append(stage)
            locks.append(lock)
        return taken, locks

    def _launch(self, group: list, slots) -> Optional[Running]:
        """Start a group's worker on ``slots`` (GPU ids, or [None] for the CPU; one id as a string works too)."""
        slots = [slots] if not isinstance(slots, list) else slots
        group, locks = self._lock(group)
        if not group:
            return None
        folders = [self.store.stage_dir(s.hash) for s in group]
        for folder in folders:
            resuming = (folder / "resume" / "progress.json").is_file()
            for name in ("result.json", "error.txt", "heartbeat") + (() if resuming else ("events.jsonl",)):
                (folder / name).unlink(missing_ok=True)
        # a resumed stage keeps its earlier events (its history); this run follows only the new ones
        earlier = {folder: (folder / "events.jsonl").stat().st_size if (folder / "events.jsonl").is_file() else 0
                   for folder in folders}
        port = self._port()
        process, record, told = self._start(group, folders, slots, port)
        running = Running(group, process, slots, port=port, locks=locks)
        for stage, folder in zip(group, folders):
            atomic_write_json(folder / "running.json", {**record, "host": socket.gethostname(), "started": time.time(),
                                                        "group": [s.hash for s in group],
                                                        "log": str(folders[0] / "worker.log")})
            running.tails[stage.hash] = tail = EventTail(folder / "events.jsonl")
            tail.offset = earlier[folder]
            self.status[stage.hash] = "queued"
            self.on_status(stage, "queued", told)
        return running

    def worker_env(self, gpu: Optional[str], launcher_env: dict) -> dict:
        """What a worker's environment adds to this process's."""
        env = dict(PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", **launcher_env, **self.env)
        if gpu is None:
            # OpenMP threads that spin at barriers stall when another process holds a core: four training steps of
            # e5-small took 18.2 s with spinning and 8.4 s with sleeping threads on 2 shared cores (load 5).
            env["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY", "PASSIVE")
        return env

    def _port(self) -> int:
        """A free port that no running worker of this executor holds: the OS may give a port twice while the
        first worker to get it has not bound it yet."""
        taken = {r.port for r in self.running}
        for _ in range(100):
            port = _free_port()
            if port not in taken:
                return port
        raise RuntimeError("no free rendezvous port")  # pragma: no cover - the OS has tens of thousands

    def processes(self, group: list, slots: list) -> int:
        """How many processes a group's worker runs: one per GPU it holds; on the CPU, XTUI_CPU_PROCESSES."""
        return cpu_processes() if slots == [None] else len(slots)

    def _start(self, group: list, folders: list, slots: list, port: int) -> tuple:
        """Start the worker of a group: (process, what running.json records of it, what the queued status says)."""
        first = folders[0]
        config_path = first / "launch.yaml"
        gpu = None if slots == [None] else ",".join(slots)
        processes = self.processes(group, slots)
        atomic_write_text(config_path, launch_config(gpu, port, processes))
        command, launcher_env = worker_command(folders, gpu, config_path, processes)
        env = dict(os.environ, **self.worker_env(gpu, launcher_env))
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpu
        log = open(first / "worker.log", "ab")
        try:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, start_new_session=True)
        finally:
            log.close()
        told = f"{processes} processes on " + (f"GPUs {gpu}" if gpu is not None else "the CPU") if processes > 1 else ""
        return process, {"pid": process.pid, "pgid": process.pid, "processes": processes, "gpus": gpu}, told

    def _drain(self, running: Running) -> None:
        for stage in running.stages:
            for event in running.tails[stage.hash].read():
                kind = event.get("event")
                if kind == "start" and self.status[stage.hash] == "queued":
                    self.status[stage.hash] = "running"
                    self.on_status(stage, "running", "")
                elif kind == "preempted" and self.status[stage.hash] == "running":
                    self.status[stage.hash] = "queued"  # its Slurm job requeued itself: waiting to start again
                    self.on_status(stage, "queued", "")
                self.on_event(stage, event)
                if kind == "done" and self.store.stage_result(stage.hash):
                    self.status[stage.hash] = "done"
                    self.on_status(stage, "done", "")

    def _finish(self, running: Running) -> None:
        self._drain(running)
        code = running.process.returncode
        for stage in running.stages:
            folder = self.store.stage_dir(stage.hash)
            (folder / "running.json").unlink(missing_ok=True)
            if self.status[stage.hash] in ("done", "blocked", "pending"):  # pending: to be submitted again
                continue
            if self.store.stage_result(stage.hash):
                self.status[stage.hash] = "done"
                self.on_status(stage, "done", "")
                continue
            events = EventTail(folder / "events.jsonl").read()
            stopped = any(e.get("event") == "stopped" for e in events[-1:])
            status = "stopped" if self.stop_requested or stopped else "failed"
            if not events:
                cause = f"{status} before it started (worker exited with code {code})"
            else:
                cause = failure_cause(folder, code, self.store.stage_dir(running.stages[0].hash) / "worker.log")
            self.status[stage.hash] = status
            self.failures[stage.hash] = cause
            self.on_status(stage, status, cause)
        for lock in running.locks:
            lock.release()

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> bool:
        """Run every pending stage; True when all of them succeeded."""
        self.prepare()
        for stage in self.plan.order():
            if self.status[stage.hash] == "reused":
                self.on_status(stage, "reused", "")
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

        def request_stop(signum, frame):
            if self.stop_requested:
                return
            self.stop_requested = True

        for sig in previous:
            signal.signal(sig, request_stop)
        try:
            while True:
                self._fill()
                if not self.running and not (self.elsewhere and not self.stop_requested):
                    break
                time.sleep(self.poll)
                self._check_elsewhere()
                for running in list(self.running):
                    self._drain(running)
                    if self._ended(running):
                        self.running.remove(running)
                        self._finish(running)
                if self.stop_requested:
                    self._stop_all()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        for stage in self.plan.order():
            if self.status[stage.hash] in ("pending", "queued"):
                self.status[stage.hash] = "stopped" if self.stop_requested else "blocked"
        return all(s in ("done", "reused") for s in self.status.values())

    def _fill(self) -> None:
        """Start groups on the free slots: independent stages side by side, one GPU each or as many as they ask."""
        free = self._free_slots()
        while free and not self.stop_requested:
            group = self._next_group(len(free))
            if not group:
                break
            need = self._need(group)
            launched = self._launch(group, free[:need])  # a group held elsewhere leaves the slots free
            if launched is not None:
                del free[:need]
                self.running.append(launched)

    def _free_slots(self) -> list:
        """The GPUs no worker of this run holds (one slot, None, on a machine without GPUs)."""
        if self.slots is None:
            self.slots = visible_gpus() or [None]
        held = {slot for r in self.running for slot in (r.slots or [None])}
        return [g for g in self.slots if g not in held]

    def _check_elsewhere(self) -> None:
        """Stages another supervisor runs: done when their result is, back to this supervisor when
        that one is gone (the lock is free): adopted if its worker still runs, else run here."""
        from filelock import FileLock, Timeout

        from .liveness import worker_alive

        for digest, stage in list(self.elsewhere.items()):
            if self.store.stage_result(digest):
                del self.elsewhere[digest]
                self.status[digest] = "done"
                self.on_status(stage, "done", "finished by another xtui supervisor")
                continue
            lock = FileLock(str(self.store.stage_dir(digest) / "stage.lock"), timeout=0)
            try:
                lock.acquire()
            except Timeout:
                continue
            lock.release()
            del self.elsewhere[digest]
            folder = self.store.stage_dir(digest)
            running = read_json(folder / "running.json")
            if running and worker_alive(folder, running):
                key = self._adopt_key(running)
                adopted = Running([stage], self._adopted(key, [stage]), None,
                                  tails={digest: EventTail(folder / "events.jsonl")})
                self.status[digest] = "queued"
                self.on_status(stage, "adopted", self._adopted_what(key))
                self.running.append(adopted)
            else:
                self.status[digest] = "pending"
                self.on_status(stage, "pending", "the other supervisor is gone: run here")

    @staticmethod
    def _ended(running: Running) -> bool:
        """The launcher has exited and nothing of its process group is left.

        `accelerate launch` runs the worker as its child in the same group; a SIGINT ends the
        launcher at once while the worker is still unwinding. Taking the launcher's exit for the
        worker's recorded a stop (or a failure) while the worker still ran and wrote its last events.
        """
        from .liveness import group_alive

        return running.process.poll() is not None and not group_alive(running.process.pid)

    def _stop_all(self) -> None:
        from .supervision import escalate

        # Escalate until every process of each worker's group is gone, not only the launcher we
        # started: the training process under `accelerate launch` may outlive it for a while.
        escalate([r.process.pid for r in self.running])
        for running in list(self.running):
            running.process.wait()
            self.running.remove(running)
            self._finish(running)


def failure_cause(folder: Path, returncode: Optional[int], log: Path) -> str:
    """Why a stage ended without a result: its last error event, the signal, or the log's tail."""
    from .supervision import last_word

    told = last_word(EventTail(folder / "events.jsonl").read())
    if told is not None:
        return told[1]
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name
        return f"killed by {name}" + (" (out of memory?)" if name == "SIGKILL" else "")
    tail = ""
    try:
        lines = [l for l in log.read_text(errors="replace").splitlines() if l.strip()]
        tail = lines[-1] if lines else ""
    except OSError:
        pass
    return f"worker exited with code {returncode}" + (f": {tail[:200]}" if tail else "")
