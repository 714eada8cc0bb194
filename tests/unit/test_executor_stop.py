"""Stopping waits for every process of a worker's group, not only for the launcher at its head.

`accelerate launch` runs the worker as its child in the same process group, and a SIGINT ends the
launcher at once while the worker is still unwinding (finishing a step, writing its 'stopped'
event). A supervisor that took the launcher's exit for the worker's recorded the experiment as
stopped while the worker still ran; the app then showed the stage "failed" (a worker gone without a
result, as far as the files said) until the worker's own 'stopped' event arrived seconds later.
"""

from __future__ import annotations

import subprocess
import sys
import time

from xtui.executor import LocalExecutor, Running
from xtui.files import EventTail
from xtui.liveness import group_alive
from xtui.stage import StageConfig
from xtui.store import RunStore

WORKER = """
import json, signal, sys, time
events = sys.argv[1]

def stop(signum, frame):
    time.sleep(2.0)  # unwinding: the step under way, a checkpoint
    with open(events, "a") as handle:
        handle.write(json.dumps({"event": "stopped", "time": time.time(), "signal": signal.Signals(signum).name}) + "\\n")
    sys.exit(130)

signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
with open(events, "a") as handle:
    handle.write(json.dumps({"event": "start", "time": time.time()}) + "\\n")
while True:
    time.sleep(0.05)
"""

LAUNCHER = """
import subprocess, sys
# like `accelerate launch`: the worker is a child in this process group; a SIGINT ends this launcher at once
subprocess.Popen([sys.executable, sys.argv[1], sys.argv[2]]).wait()
"""


def test_stop_waits_for_the_worker_behind_the_launcher(tmp_path):
    store = RunStore(tmp_path / "runs")
    store.ensure()
    stage = StageConfig.standalone("demo_sentiment", {"target": "xtui.kinds.classification:ClassificationKind"},
                                   {"name": "tiny"}, "en")
    folder = store.stage_dir(stage.hash)
    folder.mkdir(parents=True)
    events = folder / "events.jsonl"
    (tmp_path / "worker.py").write_text(WORKER)
    (tmp_path / "launcher.py").write_text(LAUNCHER)
    launcher = subprocess.Popen([sys.executable, str(tmp_path / "launcher.py"), str(tmp_path / "worker.py"), str(events)],
                                start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not (events.exists() and events.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    assert events.read_text(), "the worker did not start"
    statuses = []
    executor = LocalExecutor(store, None, lambda stage, event: None, lambda stage, status, detail: statuses.append((status, detail)))
    executor.running = [Running([stage], launcher, None, tails={stage.hash: EventTail(events)})]
    executor.status[stage.hash] = "running"
    executor.stop_requested = True
    executor._stop_all()
    # when the supervisor is done stopping, nothing of the group is left and the worker said why it ended
    assert not group_alive(launcher.pid), "the worker still runs after the supervisor finished stopping"
    assert [e["event"] for e in EventTail(events).read()] == ["start", "stopped"]
    assert executor.status[stage.hash] == "stopped" and statuses[-1] == ("stopped", "stopped by SIGINT")
    assert not (folder / "running.json").exists()
