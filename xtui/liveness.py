"""Telling live stages from dead ones, from the files alone.

A worker records its process group in ``running.json`` (written by the supervisor at
launch) and touches ``heartbeat`` every few seconds. A stage whose process is gone without
``result.json`` is dead: ``failed`` with the cause from its last events and log lines, or
``stopped`` when it was asked to stop.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Optional

from .files import EventTail, read_json
from .supervision import last_word

HEARTBEAT_TIMEOUT = 30.0


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group still runs (zombies do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def worker_alive(folder: Path, running: Optional[dict] = None) -> bool:
    running = running if running is not None else read_json(Path(folder) / "running.json")
    if not running:
        return False
    if running.get("slurm_job"):
        from .slurm import job_alive

        return job_alive(Path(folder), running)
    if running.get("host") == socket.gethostname():
        return group_alive(int(running["pgid"]))
    beat = Path(folder) / "heartbeat"
    try:
        return time.time() - beat.stat().st_mtime < HEARTBEAT_TIMEOUT
    except FileNotFoundError:
        return time.time() - float(running.get("started", 0)) < HEARTBEAT_TIMEOUT


def stage_state(folder: Path) -> tuple:
    """(status, detail) of a stage directory: done, running, failed, stopped, interrupted or pending."""
    folder = Path(folder)
    result = read_json(folder / "result.json")
    if isinstance(result, dict) and result.get("status") == "done" and _own(result, folder):
        return "done", ""
    running = read_json(folder / "running.json")
    if isinstance(running, dict) and worker_alive(folder, running):
        return "running", ""
    damage = _damage(folder)
    if damage:
        return "failed", damage
    tail = EventTail(folder / "events.jsonl")
    events = tail.read()
    told = last_word(events)
    if told is not None:
        return str(told[0]), told[1]
    if tail.bad_lines:
        return "failed", (f"events.jsonl is damaged (line {tail.first_bad} is not a JSON event); "
                          "`xtui run` runs the stage again")
    if running or events:
        log = Path(running["log"]) if isinstance(running, dict) and running.get("log") else folder / "worker.log"
        return "failed", "worker died without a result" + _last_line(log)
    return "pending", ""


def _own(result: dict, folder: Path) -> bool:
    """Whether a result is this folder's stage's (a stage folder is named by its hash's first characters)."""
    return result.get("hash") is None or str(result["hash"]).startswith(folder.name)


def _damage(folder: Path) -> str:
    """A result that exists but cannot be read: named as damaged, not as a worker that died."""
    from .store import json_file_damage

    why = json_file_damage(folder / "result.json", None)
    if why is None and (folder / "result.json").is_file():
        result = read_json(folder / "result.json")
        if not _own(result, folder):
            why = f"it is the result of another stage, {str(result.get('hash'))[:12]}"
    return f"result.json is damaged ({why}); `xtui run` runs the stage again" if why else ""


def _last_line(log: Path) -> str:
    try:
        lines = [l for l in log.read_text(errors="replace").splitlines() if l.strip()]
    except OSError:
        return ""
    return f" (last log line: {lines[-1][:200]})" if lines else ""


def experiment_state(record: dict, store=None) -> str:
    """An experiment's status, with ``interrupted`` for a 'running' one whose supervisor is gone; given
    the store, one whose every stage finished anyway (its supervisor died at the very end) is ``done``."""
    status = record.get("status") or "?"
    if status == "running" and record.get("host") == socket.gethostname() and record.get("pid"):
        if not pid_alive(int(record["pid"])):
            return "done" if store is not None and _all_finished(store, record) else "interrupted"
    return status


def _all_finished(store, record: dict) -> bool:
    stages = record.get("stages") or (store.read_experiment(record["id"]) or {}).get("stages") or []
    return bool(stages) and all(store.stage_result(digest) for digest in stages)
