"""What a worker tells the world: one JSON event per line in the stage's ``events.jsonl``, a
heartbeat file any reader can check, and a ``Stopped`` exception for the supervisor's signals.

A scheduler's warning (SIGUSR1, as Slurm's ``--signal=B:USR1@120`` sends it before a time limit) and,
inside a Slurm job, SIGTERM (preemption, ``scancel``, the time limit itself) do not interrupt a training
step: they ask the training loop to save a checkpoint at the next step and stop there (``Preempted``);
outside training they wait for the stage in hand (USR1) or stop at once (SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path


class Stopped(Exception):
    """The supervisor asked this worker to stop (SIGINT / SIGTERM)."""


class Preempted(Stopped):
    """The scheduler asked this job to end soon: the training state was checkpointed first."""

    @property
    def requeue(self) -> bool:
        """Whether this job puts itself back in the queue: a time-limit warning (USR1) in a Slurm job that
        has restarts left (``XTUI_SLURM_REQUEUE``, the most; Slurm counts them in ``SLURM_RESTART_COUNT``).
        SIGTERM is not: ``scancel`` sends it, and a cluster that preempts by requeueing does so itself."""
        return str(self) == "SIGUSR1" and requeues_left() > 0


def requeues_left() -> int:
    if not os.environ.get("SLURM_JOB_ID"):
        return 0
    try:
        return int(os.environ.get("XTUI_SLURM_REQUEUE") or 0) - int(os.environ.get("SLURM_RESTART_COUNT") or 0)
    except ValueError:
        return 0


def raise_stopped(signum, frame):
    raise Stopped(signal.Signals(signum).name)


class Preemption:
    """Signals that ask for a checkpoint before stopping. ``training`` is set while a training loop runs
    (it polls ``requested`` after each optimizer step); otherwise SIGTERM stops at once as before."""

    requested: str = ""
    training: bool = False

    @classmethod
    def handle(cls, signum, frame):
        name = signal.Signals(signum).name
        if cls.requested and signum != signal.SIGUSR1:
            raise Stopped(name)  # asked twice: stop now
        if signum == signal.SIGTERM and not cls.training:
            raise Stopped(name)
        cls.requested = cls.requested or name

    @classmethod
    def install(cls) -> None:
        """USR1 always (nothing else sends it to a worker); SIGTERM only in a Slurm job, where the scheduler
        sends it before SIGKILL. The local executor's stop keeps its SIGINT / SIGTERM escalation."""
        signal.signal(signal.SIGUSR1, cls.handle)
        if os.environ.get("SLURM_JOB_ID"):
            signal.signal(signal.SIGTERM, cls.handle)


class Events:
    """Appends events to a stage's ``events.jsonl``; only the main process writes. With ``stage``
    (a ``StageConfig``) whose run names trackers, every event also goes to them (xtui.trackers)."""

    def __init__(self, path: Path, enabled: bool, stage=None):
        self.enabled = enabled
        self.handle = open(path, "a", encoding="utf-8") if enabled else None
        self.trackers = None
        if enabled and stage is not None and (stage.run or {}).get("trackers"):
            from ..trackers import StageTrackers

            self.trackers = StageTrackers(stage, lambda message: self.emit("log", message=message))

    def emit(self, event: str, **fields) -> None:
        if self.handle:
            self.handle.write(json.dumps({"event": event, "time": time.time(), **fields}, ensure_ascii=False) + "\n")
            self.handle.flush()
            if self.trackers is not None:
                self.trackers.event(event, fields)

    def log(self, message: str, level: str = "info") -> None:
        self.emit("log", message=message, level=level)

    def close(self) -> None:
        if self.trackers is not None:
            self.trackers.close()
        if self.handle:
            self.handle.close()


class Heartbeat:
    """Touches ``<stage>/heartbeat`` every few seconds while this worker lives, so any reader
    can tell a live stage from a dead one, also across hosts (no pid check needed)."""

    def __init__(self, stage_dirs: list, every: float = 5.0):
        self.stage_dirs = stage_dirs
        self.every = every
        self.main = os.environ.get("RANK", "0") == "0"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, name="xtui-heartbeat", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        while not self.done.is_set():
            if self.main:
                beat = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time()})
                for stage_dir in self.stage_dirs:
                    try:
                        (stage_dir / "heartbeat").write_text(beat)
                    except OSError:
                        pass
            self.done.wait(self.every)

    def stop(self) -> None:
        self.done.set()
