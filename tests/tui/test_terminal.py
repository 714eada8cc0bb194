"""The app in a real terminal: tmux runs `xtui`, keys are sent, the pane's text is read back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .fake_runs import T0, write_experiment

XTUI = Path(sys.executable).with_name("xtui")


def _tmux() -> str:
    found = shutil.which("tmux")
    if found:
        return found
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", "tmux"], check=True, capture_output=True, timeout=300,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"tmux is not installed and `apt-get install -y tmux` failed: {error}")
    found = shutil.which("tmux")
    if not found:
        pytest.skip("tmux is not installed and apt-get did not provide it")
    return found


class Pane:
    def __init__(self, tmux: str, socket: str, name: str):
        self.tmux, self.socket, self.name = tmux, socket, name

    def run(self, *args, check=True):
        return subprocess.run([self.tmux, "-L", self.socket, *args], capture_output=True, text=True, check=check, timeout=30)

    def text(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name).stdout

    def keys(self, *keys) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def wait(self, *needles, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if all(n in text for n in needles):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{needles} not on the screen after {timeout}s:\n{text}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.run("has-session", "-t", self.name, check=False).returncode == 0


@pytest.fixture
def pane(tmp_path):
    tmux = _tmux()
    socket = f"xtui-test-{os.getpid()}"
    pane = Pane(tmux, socket, "app")
    yield pane
    pane.run("kill-server", check=False)


def test_the_app_in_a_real_terminal(pane, store, home):
    write_experiment(store, "20231114-221320-baseline-aaaa", name="baseline", created=T0)
    write_experiment(store, "20231115-080000-higher-lr-bbbb", name="higher-lr", created=T0 + 35_000, learning_rate=3e-4,
                     offset=0.02)
    env = {"XTUI_HOME": str(home), "TZ": "UTC", "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    command = " ".join(f"{k}={v}" for k, v in env.items()) + f" {XTUI}"
    pane.run("-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "100", "-y", "30", "env " + command)
    # experiments exist and none runs: the app opens on the history
    pane.wait("history", "higher-lr", "baseline")
    pane.wait("accuracy 66.0 (demo_nli, K=4)", "F4 History", "^q Quit")
    pane.keys("Enter")  # open the newest experiment
    pane.wait("stages done", "Stages", "Results", "Spec")
    pane.keys("2")
    pane.wait("K=0 (zero-shot)", "demo_nli", "(+4.0)", "Export")
    pane.keys("Escape", "F2")
    pane.wait("Plan", "stages", "to run", "Launch", "Intermediate tasks")
    pane.keys("F5")
    pane.wait("Plugins", "Tasks", "demo_sentiment", "classification")
    pane.keys("C-p")
    pane.wait("Search for commands")
    pane.keys("Escape", "C-q")
    deadline = time.monotonic() + 10
    while pane.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pane.alive(), "ctrl+q with nothing running quits at once"
