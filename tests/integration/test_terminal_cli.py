"""`xtui run` and `xtui attach` typed in a real terminal (a pty), as over SSH: live lines, the final
tables, exit codes, Ctrl-C, resizes. Every other test runs the CLI without a terminal."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import XTUI, offline_env
from xtui.liveness import group_alive
from support.terminal import Terminal, terminal_env

pytestmark = pytest.mark.slow

SHORT = """
name = "tty"
model = "tiny"
seeds = [1]
[intermediate]
tasks = ["none"]
[target]
task = "demo_sentiment"
languages = ["de"]
max_steps = 120
batch_size = 8
[fewshot]
shots = [0, 4]
shot_sets = 2
steps = 3
batch_size = 4
"""

# 120 steps: over a second of training even on an idle machine, so the live display (4 frames a second) draws
# training lines; with 12 steps (0.2 s) CI twice caught no frame between "loading" and "finished"
ATTACHED = SHORT.replace("max_steps = 120", "max_steps = 200")
LONG = SHORT.replace("max_steps = 120", "max_steps = 100000").replace('name = "tty"', 'name = "tty-long"')


def _index(home) -> list:
    done = subprocess.run([*XTUI, "runs", "list", "--json"], capture_output=True, text=True, env=offline_env(home),
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _live_lines(terminal: Terminal) -> list:
    return [line for line in terminal.lines() if "━" in line]


@pytest.mark.parametrize("columns", [80, 200])
def test_run_in_a_terminal_shows_live_lines_and_ends_with_the_tables(columns, write_spec, home):
    spec = write_spec(SHORT)
    terminal = Terminal(["run", spec], terminal_env(home), columns=columns)
    code = terminal.finish()
    text = terminal.text
    assert code == 0, text[-3000:]
    assert "Traceback" not in text
    live = _live_lines(terminal)
    assert any("stages:" in line for line in live), "the overall line is drawn"
    # the stage's name is cut with an ellipsis to leave room for the steps, loss and eta ("10/120" takes one
    # character more than "8/120"), so only its start is certain at 80 columns
    assert any(re.search(r"target none demo_\S* .*\d+/120", line) for line in live), \
        ("a training line with steps", [line for line in live if "target" in line][-20:])
    assert all(len(line) <= columns for line in live), [line for line in live if len(line) > columns]
    assert re.search(r"finished \w{12} target none demo_sentiment seed 1 +accuracy \d+\.\d", text)
    assert "demo_sentiment · accuracy (%) · K=0 (zero-shot)" in text
    assert "demo_sentiment · accuracy (%) · K=4" in text
    assert re.search(r"experiment \S+-tty-\w{4} done in \d+s", text)
    [record] = _index(home)
    assert record["status"] == "done" and record["name"] == "tty"


def test_ctrl_c_in_a_terminal_stops_every_worker_and_resizes_do_not_break_the_lines(write_spec, home):
    spec = write_spec(LONG)
    terminal = Terminal(["run", spec], terminal_env(home), columns=120)
    terminal.wait_for(r"target none demo_sentiment.* \d+/100000")
    for columns in (50, 200, 90):  # the user drags the window while it trains
        terminal.resize(columns)
        terminal._read(1.0)
    terminal.wait_for(r"\d+/100000")
    terminal.ctrl_c()
    code = terminal.finish(timeout=120)
    text = terminal.text
    assert code == 130, text[-3000:]
    assert "Traceback" not in text
    assert re.search(r"stopped +\w{12} target none demo_sentiment", text)
    [record] = _index(home)
    assert record["status"] == "stopped"
    stages = home / "stages"
    for folder in stages.iterdir():
        assert not (folder / "running.json").exists(), f"{folder.name} still says it runs"
        for line in (folder / "events.jsonl").read_text().splitlines() if (folder / "events.jsonl").exists() else []:
            event = json.loads(line)
            if event["event"] == "start":
                assert not group_alive(event["pgid"]), "the worker's whole process group is gone"


def test_attach_in_a_terminal_follows_a_detached_run_to_its_tables(write_spec, home):
    spec = write_spec(ATTACHED)
    started = subprocess.run([*XTUI, "run", str(spec), "--detach"], capture_output=True, text=True,
                             env=offline_env(home), timeout=120, stdin=subprocess.DEVNULL)
    assert started.returncode == 0, started.stderr
    experiment = started.stdout.strip()
    terminal = Terminal(["attach", experiment], terminal_env(home), columns=100)
    code = terminal.finish()
    text = terminal.text
    assert code == 0, text[-3000:]
    assert "Traceback" not in text
    assert f"attached to {experiment}" in text
    assert any(re.search(r"\d+/200", line) for line in _live_lines(terminal)), "live lines while it trains"
    assert "demo_sentiment · accuracy (%) · K=4" in text
    [record] = _index(home)
    assert record["status"] == "done"
