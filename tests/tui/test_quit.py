"""Quitting while stages run asks whether to stop them or leave them running."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from xtui.tui.choice_dialog import ChoiceDialog

from .conftest import make_app, screen_text, wait_for
from .fake_runs import write_running

# A stand-in supervisor: on SIGINT it records the experiment as stopped, as `xtui run` does.
SUPERVISOR = """
import json, signal, sys, time
path = sys.argv[1]
def stop(*_):
    data = json.load(open(path)); data["status"] = "stopped"; data["finished"] = time.time()
    json.dump(data, open(path, "w")); sys.exit(130)
signal.signal(signal.SIGINT, stop)
print("ready", flush=True)
while True:
    time.sleep(0.1)
"""


@pytest.fixture
def supervisor(store):
    path = store.home / "experiments" / "20231114-000000-live-ffff" / "experiment.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(path)], stdout=subprocess.PIPE,
                               start_new_session=True, text=True)
    assert process.stdout.readline().strip() == "ready"
    experiment, _, _ = write_running(store, "20231114-000000-live-ffff", pid=process.pid, created=time.time())
    yield process, experiment
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.parametrize("answer", ["leave", "stop", "cancel"])
async def test_quit_with_running_stages_asks(store, supervisor, answer):
    process, experiment = supervisor
    app = make_app(store)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.watching == experiment["id"]
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        text = screen_text(app)
        assert "Still running" in text and experiment["id"] in text
        assert "Leave running" in text and "Stop them" in text
        await pilot.press({"leave": "l", "stop": "s", "cancel": "c"}[answer])
        if answer == "stop":
            await wait_for(pilot, lambda: process.poll() is not None, timeout=30, what="supervisor stopped")
            await pilot.pause(0.5)
        else:
            await pilot.pause(0.3)
        if answer == "cancel":
            assert app.is_running and not isinstance(app.screen, ChoiceDialog)
    if answer == "leave":
        assert process.poll() is None  # still running in the background
        assert app.return_value.startswith(f"left running: {experiment['id']}")
    elif answer == "stop":
        assert process.returncode == 130
        record = json.loads((store.experiment_dir(experiment["id"]) / "experiment.json").read_text())
        assert record["status"] == "stopped"
    else:
        assert process.poll() is None
