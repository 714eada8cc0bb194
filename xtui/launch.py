"""Starting the headless supervisor in the background, and stopping it.

``xtui run --detach`` and the app both start ``python -m xtui.cli run ...`` in a new session
with its output in ``$XTUI_HOME/logs/<experiment id>.log``, tell it the experiment id to use
(``XTUI_EXPERIMENT_ID``) and then follow the run directories like anyone else. Closing the
terminal or the app leaves the experiment running. Headless: no Textual, no torch.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .files import read_json

ID_ENV = "XTUI_EXPERIMENT_ID"


def new_experiment_id(name: str) -> str:
    """The id format of ``xtui run``: time, spec name, a short random suffix."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{secrets.token_hex(2)}"


@dataclass
class Launched:
    experiment_id: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def launch_detached(store, args: list, experiment_id: str, env: Optional[dict] = None) -> Launched:
    """Start ``xtui run ARGS`` in its own session; it records itself under ``experiment_id``."""
    store.ensure()
    store.experiment_dir(experiment_id)  # validates the id before anything is started
    logs = store.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{experiment_id}.log"
    child_env = dict(os.environ if env is None else env)
    child_env[ID_ENV] = experiment_id
    child_env["XTUI_HOME"] = str(store.home)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    child_env.setdefault("COLUMNS", "160")
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "xtui.cli", "run", *map(str, args)], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, env=child_env, start_new_session=True,
                                   cwd=os.getcwd())
    return Launched(experiment_id, process, log_path)


def wait_registered(store, launched: Launched, timeout: float = 120.0) -> Optional[int]:
    """Wait until the supervisor has written its experiment.json; None then, else its exit code."""
    path = store.experiment_dir(launched.experiment_id) / "experiment.json"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if read_json(path):
            return None
        code = launched.process.poll()
        if code is not None:
            return None if read_json(path) else code
        time.sleep(0.1)
    return None if read_json(path) else -1


def log_tail(path: Path, lines: int = 5) -> list:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]


def stop_experiment(store, record: dict) -> list:
    """Stop a running experiment (its supervisor stops its workers' process groups); lines to tell."""
    try:
        from .stopping import stop_experiment as stop
    except ImportError:  # pragma: no cover - stopping ships with xtui
        stop = None
    if stop is not None:
        return stop(store, record)
    import signal

    pid = record.get("pid")
    if not pid:
        return [f"nothing was running in {record.get('id')}"]
    try:
        os.kill(int(pid), signal.SIGINT)
    except ProcessLookupError:
        return [f"nothing was running in {record.get('id')}"]
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    return [f"stopped {record.get('id')}"]
