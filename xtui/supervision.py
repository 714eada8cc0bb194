"""The supervision vocabulary, in one place: what a worker's events are called, why a stage failed,
the statuses a stage and an experiment can be in, how a failure is told in one line, and how a
worker's process group is stopped (SIGINT, then SIGTERM, then SIGKILL). The executor, the
follower, the liveness checks and ``xtui stop`` all use these. Headless: no torch, no Textual.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Callable, Iterable, Optional

try:
    from enum import StrEnum
except ImportError:  # Python 3.10
    from enum import Enum

    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return self.value


class Event(StrEnum):
    """The ``event`` of a line of ``events.jsonl``."""

    START = "start"
    PHASE = "phase"
    """A target stage's recipe moves on to its next task (``phase`` of ``phases``, ``task``)."""
    TRAIN = "train"
    RESUME = "resume"
    STEP = "step"
    EVAL = "eval"
    CHECKPOINT = "checkpoint"
    LOG = "log"
    DONE = "done"
    ERROR = "error"
    STOPPED = "stopped"
    PREEMPTED = "preempted"
    """Warned of its time limit, a Slurm job checkpointed and requeued itself (``job``, ``restart``)."""


class Cause(StrEnum):
    """Why a stage failed (``cause`` of its error event)."""

    OUT_OF_MEMORY = "out of memory"
    DISK_FULL = "disk full"
    BAD_INPUT = "bad input"
    EXCEPTION = "exception"


class Status(StrEnum):
    """A stage's status as the supervisor and every view tell it."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    REUSED = "reused"
    FAILED = "failed"
    STOPPED = "stopped"
    BLOCKED = "blocked"
    ELSEWHERE = "elsewhere"
    ADOPTED = "adopted"
    INTERRUPTED = "interrupted"


FINISHED = (Status.DONE, Status.REUSED)
TERMINAL = (Status.DONE, Status.REUSED, Status.FAILED, Status.STOPPED, Status.BLOCKED)
"""A stage in one of these will not change again in this run."""
ENDED_BADLY = (Status.FAILED, Status.STOPPED, Status.BLOCKED, Status.ELSEWHERE)
"""A parent in one of these blocks its children."""

ESCALATION = ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))
"""Signals sent to a worker's process group, each followed by that many seconds of grace."""


def error_line(event: dict) -> str:
    """``out of memory: CUDA out of memory ... (lower batch_size ...)``: a failure in one line."""
    hint = f" ({event['hint']})" if event.get("hint") else ""
    return f"{event.get('cause', 'error')}: {event.get('message', '')}{hint}"


def stopped_line(event: dict) -> str:
    return f"stopped by {event.get('signal', 'a signal')}"


def last_word(events: list) -> Optional[tuple]:
    """(status, detail) told by a stage's last error or stop event, None when it has neither
    after its last ``done``."""
    for event in reversed(events):
        kind = event.get("event")
        if kind == Event.ERROR:
            return Status.FAILED, error_line(event)
        if kind == Event.STOPPED:
            return Status.STOPPED, stopped_line(event)
        if kind == Event.DONE:
            return None
    return None


def escalate(groups: Iterable[int], alive: Optional[Callable[[int], bool]] = None, escalation=ESCALATION) -> None:
    """Stop whole process groups: each signal of ``escalation`` to every group still alive, then its
    grace period, until none is (zombies do not count as alive)."""
    if alive is None:
        from .liveness import group_alive as alive
    groups = list(groups)
    for sig, wait in escalation:
        living = [g for g in groups if alive(g)]
        if not living:
            return
        for group in living:
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + wait
        while time.time() < deadline and any(alive(g) for g in living):
            time.sleep(0.1)
