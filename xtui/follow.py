"""Following an experiment from its run directories: what ``xtui attach`` and the app show.

Everything comes from the files the supervisor and the workers write (``experiment.json``,
``stage.json``, ``events.jsonl``, ``running.json``, ``result.json``), so an experiment started
anywhere (``xtui run``, ``xtui run --detach`` from another SSH session, the app) is followed
the same way, and following it again after a restart replays what already happened.
Headless: imports neither Textual nor torch.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

from .files import EventTail, read_json
from .supervision import error_line, stopped_line

TERMINAL = ("done", "reused", "failed", "stopped", "blocked")
LOG_LINES = 300


def experiment_status(record: dict, store=None) -> str:
    """The experiment's status, ``interrupted`` when it says running but its supervisor is gone."""
    from .liveness import experiment_state

    return experiment_state(record, store)


@dataclass
class StageState:
    """What is known of one stage, folded from its events and files."""

    hash: str
    type: str = "?"
    parent: Optional[str] = None
    grid: dict = field(default_factory=dict)
    status: str = "pending"
    detail: str = ""
    step: int = 0
    total: Optional[int] = None
    loss: Optional[float] = None
    lr: Optional[float] = None
    speed: Optional[float] = None
    started: Optional[float] = None
    updated: Optional[float] = None
    finished: Optional[float] = None
    seconds: Optional[float] = None
    losses: list = field(default_factory=list)
    """(step, loss) of every step event, in order."""
    evals: list = field(default_factory=list)
    """Every eval event (validation during training, the test evaluation at the end)."""
    metrics: dict = field(default_factory=dict)
    log: deque = field(default_factory=lambda: deque(maxlen=LOG_LINES))
    version: int = 0
    """Grows on every change, so a view redraws only what changed."""

    @property
    def short(self) -> str:
        return self.hash[:12]

    def describe(self) -> str:
        from .stage import describe_stage

        return describe_stage(self.type, self.grid) if self.type != "?" else self.short

    def elapsed(self, now: Optional[float] = None) -> Optional[float]:
        if self.started is None:
            return self.seconds
        end = self.finished if self.finished is not None else (now or time.time())
        return max(0.0, end - self.started)

    def eta(self, now: Optional[float] = None) -> Optional[float]:
        """Seconds left, from the pace of the steps so far."""
        if self.status != "running" or not self.total or not self.step or self.started is None:
            return None
        spent = (now or time.time()) - self.started
        return max(0.0, spent / self.step * (self.total - self.step))

    def snapshot(self) -> "StageState":
        """A copy another thread may read while this one goes on changing."""
        return replace(self, grid=dict(self.grid), losses=list(self.losses), evals=list(self.evals),
                       metrics=dict(self.metrics), log=deque(self.log, maxlen=LOG_LINES))


def event_line(event: dict) -> str:
    """One readable line per event, for log tails."""
    kind = event.get("event")
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("time") or time.time()))
    if kind == "start":
        text = f"start on {event.get('device', '?')} (pid {event.get('pid', '?')}, host {event.get('host', '?')})"
    elif kind == "phase":
        text = f"phase {event.get('phase')}/{event.get('phases')}: train on {event.get('task')}"
    elif kind == "train":
        text = (f"train {event.get('total_steps')} steps on {event.get('examples')} examples, "
                f"batch {event.get('batch_size')}" + (f", from step {event['start_step']}" if event.get("start_step") else ""))
    elif kind == "step":
        text = (f"step {event.get('step')}/{event.get('total')} loss {_number(event.get('loss'), '.4f')} "
                f"lr {_number(event.get('lr'), '.2e')} {_number(event.get('examples_per_second'), '.0f')} ex/s")
    elif kind == "eval":
        where = event.get("split", "?") + (f" {event['language']}" if event.get("language") else "")
        at = f" step {event['step']}" if event.get("step") is not None else ""
        text = f"eval {where}{at}: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in (event.get("metrics") or {}).items()
                                                if isinstance(v, (int, float)))
    elif kind == "done":
        text = f"done in {_number(event.get('seconds'), '.1f')}s"
    elif kind == "error":
        text = "error: " + error_line(event)
    elif kind == "stopped":
        text = stopped_line(event)
    else:
        rest = {k: v for k, v in event.items() if k not in ("event", "time")}
        text = f"{kind} {rest.get('message', rest)}"
    return f"{stamp} {text}"


def _number(value, spec: str) -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "-"


def _reported_error(folder: Path) -> bool:
    """Whether the stage's worker wrote an error event (a failure of its own, before any stop)."""
    return any(event.get("event") == "error" for event in EventTail(folder / "events.jsonl").read())


class _Tail:
    """An event tail that notices when the file is replaced or truncated (a stage launched again)."""

    def __init__(self, path: Path):
        self.path = path
        self.tail = EventTail(path)
        self.inode = None

    def read(self) -> tuple:
        """(restarted, new events)."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            restarted = self.tail.offset > 0
            if restarted:
                self.tail = EventTail(self.path)
            return restarted, []
        restarted = False
        if (self.inode is not None and info.st_ino != self.inode) or info.st_size < self.tail.offset:
            self.tail = EventTail(self.path)
            restarted = True
        self.inode = info.st_ino
        if info.st_size == self.tail.offset:
            return restarted, []
        return restarted, self.tail.read()


class ExperimentFollower:
    """Folds an experiment's run directories into :class:`StageState` objects, a poll at a time."""

    def __init__(self, store, experiment_id: str):
        self.store = store
        self.id = experiment_id
        self.experiment: dict = {}
        self.status = "unknown"
        self.stages: dict = {}
        self._tails: dict = {}
        self._experiment_stamp = None
        self.polls = 0

    @property
    def folder(self) -> Path:
        return self.store.experiment_dir(self.id)

    @property
    def live(self) -> bool:
        return self.status == "running"

    def _read_experiment(self) -> bool:
        path = self.folder / "experiment.json"
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return False
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        if stamp == self._experiment_stamp:
            return False
        record = read_json(path)
        if record is None:
            return False
        self._experiment_stamp = stamp
        self.experiment = record
        return True

    def _stage(self, digest: str) -> StageState:
        state = self.stages.get(digest)
        if state is None:
            state = StageState(digest)
            self.stages[digest] = state
            self._tails[digest] = _Tail(self.store.stage_dir(digest) / "events.jsonl")
        if state.type == "?":
            from .stage import find_stage

            stage = find_stage(self.store.stage_dir(digest))
            if stage is not None:
                state.type, state.parent, state.grid = stage.type.value, stage.parent, stage.grid.to_json()
        return state

    def poll(self) -> list:
        """Read what changed; returns ``(stage, new events, previous status or None)`` per changed stage."""
        self.polls += 1
        experiment_changed = self._read_experiment()
        previous_status = self.status
        self.status = experiment_status(self.experiment, self.store) if self.experiment else "starting"
        settle = experiment_changed or self.status != previous_status or self.polls == 1
        changes = []
        for digest in self.experiment.get("stages", []):
            state = self._stage(digest)
            before = (state.status, state.detail)
            restarted, events = self._tails[digest].read()
            if restarted:
                self._reset(state)
            for event in events:
                self._apply(state, event)
            if events or restarted or settle or state.status not in TERMINAL:
                self._settle(state, look_at_result=bool(events) or settle or state.status in ("running", "queued", "pending"))
            if events or restarted or (state.status, state.detail) != before:
                state.version += 1
                changes.append((state, events, before[0] if state.status != before[0] else None))
        return changes

    @staticmethod
    def _reset(state: StageState) -> None:
        fresh = StageState(state.hash, state.type, state.parent, state.grid, version=state.version)
        for name in ("status", "detail", "step", "total", "loss", "lr", "speed", "started", "updated", "finished",
                     "seconds", "losses", "evals", "metrics", "log"):
            setattr(state, name, getattr(fresh, name))

    def _apply(self, state: StageState, event: dict) -> None:
        kind = event.get("event")
        when = event.get("time")
        state.updated = when
        state.log.append(event_line(event))
        if kind == "start":
            state.started = when
            state.finished = None
            state.status, state.detail = "running", ""
        elif kind == "train":
            state.total = event.get("total_steps")
            state.step = event.get("start_step") or 0
        elif kind == "step":
            state.step = event.get("step", state.step)
            state.total = event.get("total", state.total)
            state.loss = event.get("loss")
            state.lr = event.get("lr")
            state.speed = event.get("examples_per_second")
            if isinstance(state.loss, (int, float)):
                state.losses.append((state.step, state.loss))
        elif kind == "eval":
            state.evals.append(event)
            if event.get("split") != "validation" and event.get("metrics"):
                state.metrics = dict(event["metrics"])
        elif kind == "done":
            state.finished = when
            state.seconds = event.get("seconds")
            if event.get("metrics") and not state.metrics:
                state.metrics = dict(event["metrics"])
            state.status = "done"
        elif kind == "error":
            state.finished = when
            state.status = "failed"
            state.detail = error_line(event)
        elif kind == "stopped":
            state.finished = when
            state.status, state.detail = "stopped", stopped_line(event)
        elif kind == "preempted":
            state.status = "queued"
            state.detail = f"requeued after {event.get('signal')} (Slurm job {event.get('job')}, restart {event.get('restart')})"

    def _settle(self, state: StageState, look_at_result: bool) -> None:
        folder = self.store.stage_dir(state.hash)
        if look_at_result and (folder / "result.json").exists():
            result = self.store.stage_result(state.hash)
            if result:
                created = self.experiment.get("created") or 0
                finished = result.get("finished") or 0
                state.status = "reused" if finished and finished < created else "done"
                state.detail = ""
                state.seconds = result.get("seconds", state.seconds)
                if result.get("finished"):
                    state.finished = result["finished"]
                if result.get("started") and state.started is None:
                    state.started = result["started"]
                scores = result.get("metrics") or result.get("validation") or {}
                if scores:
                    state.metrics = dict(scores)
                if state.total and state.status == "done":
                    state.step = state.total
                return
        if state.status in ("done", "reused"):
            return
        if state.status == "pending" and (folder / "running.json").exists():
            state.status = "queued"
        if self.status in ("running", "starting"):
            return
        # The supervisor is gone or finished: what was left behind is told from the files.
        if state.status in ("running", "queued"):
            try:
                from .liveness import stage_state
            except ImportError:  # pragma: no cover
                stage_state = None
            if stage_state is not None:
                status, detail = stage_state(folder)
                if status == "pending":  # launched but never started: the experiment's outcome is the stage's
                    status = {"failed": "failed", "stopped": "stopped"}.get(self.status, "interrupted")
                    detail = detail or "did not start (see the worker log)"
                elif status == "failed" and self.status == "stopped" and not _reported_error(folder):
                    # gone without a word in a stopped experiment: the stop ended it (the last signal of the
                    # escalation is a SIGKILL, which leaves no 'stopped' event)
                    status, detail = "stopped", "stopped (its worker ended without a last event)"
                if status != "running":
                    state.status, state.detail = status, detail
            else:
                state.status = "interrupted"
        elif state.status == "pending":
            state.status = {"stopped": "stopped", "failed": "blocked", "done": "blocked"}.get(self.status, "pending")

    # -- views ----------------------------------------------------------------------------------
    def counts(self) -> dict:
        counts: dict = {}
        for state in self.stages.values():
            counts[state.status] = counts.get(state.status, 0) + 1
        return counts

    def log_tail(self, digest: str, lines: int = 40) -> list:
        """The last lines of the worker log that ran this stage (a group shares one log)."""
        folder = self.store.stage_dir(digest)
        running = read_json(folder / "running.json") or {}
        path = Path(running["log"]) if running.get("log") else folder / "worker.log"
        candidates = [path, folder / "error.txt"]
        out = []
        for candidate in candidates:
            try:
                with open(candidate, "rb") as handle:
                    handle.seek(0, os.SEEK_END)
                    size = handle.tell()
                    handle.seek(max(0, size - 16384))
                    text = handle.read().decode("utf-8", errors="replace")
            except OSError:
                continue
            tail = [line for line in text.splitlines() if line.strip()][-lines:]
            if tail:
                out.append(f"── {candidate.name} ──")
                out.extend(tail)
        return out
