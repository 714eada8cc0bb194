"""What a worker tells the world: one JSON event per line in the stage's ``events.jsonl``, a
heartbeat file any reader can check, and a ``Stopped`` exception for the supervisor's signals."""

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


def raise_stopped(signum, frame):
    raise Stopped(signal.Signals(signum).name)


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
